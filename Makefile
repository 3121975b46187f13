# run-with-keys: build, test, install. See README.md.
PREFIX ?= /usr/local
SWIFT_RELEASE_FLAGS ?= -c release -Xswiftc -static-stdlib

.PHONY: build release install test unit e2e fuzz bench clean

build:
	swift build

release:
	swift build $(SWIFT_RELEASE_FLAGS)

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 "$$(swift build $(SWIFT_RELEASE_FLAGS) --show-bin-path)/run-with-keys" $(DESTDIR)$(PREFIX)/bin/run-with-keys

# The test command: Swift unit tests, then end-to-end tests against the built binary.
test: build
	swift test
	python3 -m pytest -q tests/e2e

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
