# The one test command: `make test` installs what it needs and runs every test.
.PHONY: test
test:
	./scripts/test-all.sh

# Benchmarks (figures and ratios, nothing asserted); not part of `make test`.
.PHONY: bench
bench:
	./scripts/bench.sh

# Coverage-guided fuzzing, FUZZ_SECONDS per target (default 300); docs/testing.md.
.PHONY: fuzz
fuzz:
	./scripts/fuzz.sh

# Ten minutes at half the measured maximum load (SOAK_SECS); docs/operations.md.
.PHONY: soak
soak:
	./scripts/soak.sh

# Mutation testing: cargo-mutants per module, the Lua mutant harness, PIT on
# the authenticator; kill rates and survivors (docs/testing.md). Long (its
# times are in docs/testing.md); started again, it goes on where it stopped.
# `./scripts/mutants.sh rust -- tokens` runs one part, one module.
.PHONY: mutants
mutants:
	./scripts/mutants.sh
