# ebpfvrrp — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
APT_PKGS := clang llvm libbpf-dev bpftool iproute2 nftables keepalived nginx tcpdump tshark iputils-ping prometheus frr man-db
# Privileged tests (BPF, netns, the lab) run when we are root.
PRIV := $(shell [ "$$(id -u)" = 0 ] && echo EBPFVRRP_PRIVILEGED_TESTS=1)
TEST_TIMEOUT ?= 60m

# The Debian version: a tag's name without its v when HEAD has one, else
# 0.0~git<commit date>.<hash> (sorts before any release).
VERSION ?= $(shell v=$$(git describe --tags --exact-match 2>/dev/null | sed 's/^v//'); \
	[ -n "$$v" ] && echo "$$v" || echo "0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d).$$(git rev-parse --short=12 HEAD)")
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
DEB := ebpfvrrp_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := build/deb/root

.PHONY: help deps generate check-generated build test unit bench soak fuzz demo format lint install deb deb-test clean

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

# The daemon is built as the package ships it: static (no cgo: no libc mapped,
# threads without pthread stacks), without the symbol table and DWARF, so what
# `make bench` measures (RSS included) is the binary operators run.
BUILD_DAEMON = CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

build: ## build bin/ebpfvrrp as the package ships it (and bin/ebpfvrrp-demo, the lab, which the daemon does not link)
	$(BUILD_DAEMON) -o bin/ebpfvrrp ./cmd/ebpfvrrp
	$(GO) build -o bin/ebpfvrrp-demo ./cmd/ebpfvrrp-demo

test: deps ## full suite: vet, gofmt, check-generated, unit + privileged + lab tests with -race, then the package
	$(GO) vet $(PKGS)
	@fmt=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfel\.go$$')); [ -z "$$fmt" ] || { echo "gofmt needed: $$fmt" >&2; exit 1; }
	$(MAKE) --no-print-directory check-generated
	$(PRIV) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deb-test; \
	else echo "deb-test: SKIPPED (installing the package needs root)"; fi

unit: ## unit tests only (no root needed)
	$(GO) test -race -count=1 $(PKGS)

# TestBenchmarks runs the loader's BPF_PROG_RUN benchmarks itself and publishes them.
bench: deps build ## benchmarks vs keepalived in one run (~15 min); writes docs/benchmarks.md and plots
	$(PRIV) $(GO) test -run '^$$' -bench . -benchmem -count=1 ./vrrp/ ./control/
	$(PRIV) EBPFVRRP_BENCH=1 EBPFVRRP_BINARY=$(CURDIR)/bin/ebpfvrrp $(GO) test -count=1 -timeout 60m -run TestBenchmarks -v ./test/vm/

# TestSoak runs inside `make test` for 60 s per daemon and only checks; here it runs
# SOAK_DURATION per daemon (seed SOAK_SEED, default the clock) and publishes.
SOAK_DURATION ?= 10m
SOAK_SEED ?=
soak: deps build ## chaos soak, ebpfvrrp then keepalived, SOAK_DURATION each (10m); writes its section of docs/benchmarks.md
	$(PRIV) EBPFVRRP_SOAK_DURATION=$(SOAK_DURATION) EBPFVRRP_SOAK_SEED=$(SOAK_SEED) EBPFVRRP_SOAK_OUT=$(CURDIR)/docs \
		EBPFVRRP_BINARY=$(CURDIR)/bin/ebpfvrrp $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./test/vm/

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

# The package is assembled with dpkg-deb: the layout is this recipe, and the man
# page and bash completion are generated by the binary from its own flag sets.
deb: ## build ebpfvrrp_<version>_<arch>.deb (binary in /usr/sbin, unit, man page, completion, examples)
	rm -rf build/deb && mkdir -p $(DEB_ROOT)/DEBIAN
	$(BUILD_DAEMON) -o $(DEB_ROOT)/usr/sbin/ebpfvrrp ./cmd/ebpfvrrp
	install -d $(DEB_ROOT)/usr/lib/systemd/system $(DEB_ROOT)/usr/share/man/man8 \
		$(DEB_ROOT)/usr/share/bash-completion/completions $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/keepalived \
		$(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/prometheus $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/grafana
	sed 's#/usr/local/sbin/ebpfvrrp#/usr/sbin/ebpfvrrp#g; s#`make install` puts it in /etc/systemd/system/#The package puts it in /usr/lib/systemd/system/#' \
		configs/ebpfvrrp.service > $(DEB_ROOT)/usr/lib/systemd/system/ebpfvrrp.service
	chmod 0644 $(DEB_ROOT)/usr/lib/systemd/system/ebpfvrrp.service
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) $(DEB_ROOT)/usr/sbin/ebpfvrrp help --man | gzip -9n > $(DEB_ROOT)/usr/share/man/man8/ebpfvrrp.8.gz
	$(DEB_ROOT)/usr/sbin/ebpfvrrp help --bash-completion > $(DEB_ROOT)/usr/share/bash-completion/completions/ebpfvrrp
	install -D -m 0640 configs/lb-5.yaml $(DEB_ROOT)/etc/ebpfvrrp/ebpfvrrp.yaml
	install -m 0644 configs/*.yaml $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/
	install -m 0644 configs/keepalived/*.conf configs/keepalived/README.md $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/keepalived/
	install -m 0755 configs/keepalived/*.sh $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/keepalived/
	install -m 0644 configs/prometheus/*.yml $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/prometheus/
	install -m 0644 configs/grafana/*.json $(DEB_ROOT)/usr/share/doc/ebpfvrrp/examples/grafana/
	install -m 0644 README.md packaging/deb/copyright $(DEB_ROOT)/usr/share/doc/ebpfvrrp/
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(DEB_ROOT)/DEBIAN/
	cd $(DEB_ROOT) && find etc -type f | sed 's#^#/#' > DEBIAN/conffiles
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" packaging/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)
	@echo "built $(DEB)"

deb-test: deb ## install the package with apt-get, run it, remove and purge it, check for leftovers (root)
	packaging/deb/test-install.sh $(DEB)

clean: ## remove build output
	rm -rf bin build ebpfvrrp_*.deb
