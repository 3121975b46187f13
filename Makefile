# run-with-keys: build, test, install. See README.md.
PREFIX ?= /usr/local
# The one home of the release build's flags (install.sh, bench/run.sh and the example
# Dockerfile call `make release` and `make bin-path`):
# - a fully static executable: nothing for the dynamic loader to relocate at start-up
#   (users and groups are resolved without glibc's NSS, see Sources/Accounts);
# - generic type metadata through direct accessors, in every module, the packages'
#   too: the default mangled-name accessor makes the runtime demangle the type and
#   look up its conformances the first time a process uses it (about 0.1 ms of a
#   launch; BENCHMARKS.md, "Where the time goes").
# SWIFT_SCRATCH: another build directory (bench/run.sh keeps its own).
SWIFT_RELEASE_FLAGS ?= -c release -Xswiftc -static-executable \
	-Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
	$(if $(SWIFT_SCRATCH),--scratch-path $(SWIFT_SCRATCH))
RELEASE_BIN = $$(swift build $(SWIFT_RELEASE_FLAGS) --show-bin-path)/run-with-keys

.PHONY: build release bin-path install test unit e2e test-deps system-deps fuzz bench clean

build:
	swift build

release:
	swift build $(SWIFT_RELEASE_FLAGS)

# The path of the release binary, for scripts: make -s bin-path
bin-path:
	@echo "$(RELEASE_BIN)"

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 "$(RELEASE_BIN)" $(DESTDIR)$(PREFIX)/bin/run-with-keys

# The test command: the system packages the tests use (tests/setup-system.sh installs
# missing ones), a virtualenv .venv from the system Python with tests/requirements.txt;
# then Swift unit tests, and the shipped binary: static and ICU-free
# (tests/check-binary.sh), and the end-to-end tests against it.
SYSTEM_PYTHON ?= /usr/bin/python3
VENV ?= .venv
TEST_TIMEOUT ?= 1800
PYTEST = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" timeout $(TEST_TIMEOUT) $(VENV)/bin/python -m pytest -q tests/e2e

test: test-deps release
	timeout $(TEST_TIMEOUT) swift test
	tests/check-binary.sh "$(RELEASE_BIN)"
	RWK_BIN="$(RELEASE_BIN)" $(PYTEST)

unit:
	timeout $(TEST_TIMEOUT) swift test

e2e: test-deps build
	$(PYTEST)

test-deps: $(VENV)/requirements.txt

# Re-made only when tests/requirements.txt changes (or .venv is missing).
$(VENV)/requirements.txt: tests/requirements.txt | system-deps
	timeout 120 $(SYSTEM_PYTHON) -m venv --clear $(VENV)
	timeout 900 $(VENV)/bin/python -m pip install -q --disable-pip-version-check --timeout 60 -r tests/requirements.txt
	cp tests/requirements.txt $@

system-deps:
	@timeout 1800 tests/setup-system.sh

fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

bench:
	bench/run.sh

clean:
	rm -rf .build .build-fuzz $(VENV)
