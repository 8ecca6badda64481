# The one test command: `make test` installs what it needs and runs every test.
.PHONY: test
test:
	./scripts/test-all.sh
