# run-with-keys: build, test, install. See README.md.
PREFIX ?= /usr/local
# A fully static executable: nothing for the dynamic loader to relocate at start-up
# (users and groups are resolved without glibc's NSS, see Sources/Accounts).
SWIFT_RELEASE_FLAGS ?= -c release -Xswiftc -static-executable
RELEASE_BIN = $$(swift build $(SWIFT_RELEASE_FLAGS) --show-bin-path)/run-with-keys

.PHONY: build release install test unit e2e fuzz bench clean

build:
	swift build

release:
	swift build $(SWIFT_RELEASE_FLAGS)

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 "$(RELEASE_BIN)" $(DESTDIR)$(PREFIX)/bin/run-with-keys

# The test command: Swift unit tests, then the shipped binary: static and ICU-free
# (tests/check-binary.sh), and the end-to-end tests against it.
test: release
	swift test
	tests/check-binary.sh "$(RELEASE_BIN)"
	RWK_BIN="$(RELEASE_BIN)" python3 -m pytest -q tests/e2e

unit:
	swift test

e2e: build
	python3 -m pytest -q tests/e2e

fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

bench:
	bench/run.sh

clean:
	rm -rf .build .build-fuzz
