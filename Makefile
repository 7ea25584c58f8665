# ebpfvrrp — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
APT_PKGS := clang llvm libbpf-dev bpftool iproute2 nftables keepalived nginx tcpdump tshark iputils-ping prometheus frr
# Privileged tests (BPF, netns, the lab) run when we are root.
PRIV := $(shell [ "$$(id -u)" = 0 ] && echo EBPFVRRP_PRIVILEGED_TESTS=1)
TEST_TIMEOUT ?= 60m

.PHONY: help deps generate check-generated build test unit bench fuzz demo format lint install clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## install missing system packages with apt-get (idempotent, quick when all is there)
	@missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install: $$missing" >&2; exit 1; fi; \
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mountpoint -q /sys/fs/bpf || { [ "$$(id -u)" = 0 ] && mount -t bpf bpf /sys/fs/bpf || true; }

generate: ## regenerate the bpf2go bindings (loader/*_bpfel.{go,o}) from bpf/
	$(GO) generate ./loader/...

check-generated: generate ## fail if the committed bpf2go output differs from the C source
	@git diff --exit-code --stat -- loader/ || { echo "check-generated: run 'make generate' and commit loader/*_bpfel.*" >&2; exit 1; }

build: ## build bin/ebpfvrrp (and bin/ebpfvrrp-demo, the lab, which the daemon does not link)
	$(GO) build -o bin/ebpfvrrp ./cmd/ebpfvrrp
	$(GO) build -o bin/ebpfvrrp-demo ./cmd/ebpfvrrp-demo

test: deps ## full suite: vet, gofmt, check-generated, then unit + privileged + lab tests with -race
	$(GO) vet $(PKGS)
	@fmt=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfel\.go$$')); [ -z "$$fmt" ] || { echo "gofmt needed: $$fmt" >&2; exit 1; }
	$(MAKE) --no-print-directory check-generated
	$(PRIV) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

unit: ## unit tests only (no root needed)
	$(GO) test -race -count=1 $(PKGS)

# TestBenchmarks runs the loader's BPF_PROG_RUN benchmarks itself and publishes them.
bench: deps build ## benchmarks vs keepalived in one run (~15 min); writes docs/benchmarks.md and plots
	$(PRIV) $(GO) test -run '^$$' -bench . -benchmem -count=1 ./vrrp/ ./control/
	$(PRIV) EBPFVRRP_BENCH=1 EBPFVRRP_BINARY=$(CURDIR)/bin/ebpfvrrp $(GO) test -count=1 -timeout 60m -run TestBenchmarks -v ./test/vm/

fuzz: ## run every fuzz target for FUZZTIME (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg || exit 1; \
		done; \
	done

demo: deps build ## the two-LB lab with a live failover on the built-in default config
	./bin/ebpfvrrp demo

format: ## gofmt + clang-format
	gofmt -w $$(git ls-files '*.go' | grep -v '_bpfel\.go$$')
	clang-format -i bpf/*.c bpf/include/*.h

lint: ## go vet (and staticcheck when installed)
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null && staticcheck $(PKGS) || true

install: build ## install binary, systemd unit and example config
	install -D -m 0755 bin/ebpfvrrp /usr/local/sbin/ebpfvrrp
	install -D -m 0644 configs/ebpfvrrp.service /etc/systemd/system/ebpfvrrp.service
	[ -e /etc/ebpfvrrp/ebpfvrrp.yaml ] || install -D -m 0640 configs/lb-5.yaml /etc/ebpfvrrp/ebpfvrrp.yaml

clean: ## remove build output
	rm -rf bin
