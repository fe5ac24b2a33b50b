# svirt-hook: build, try, test, install.
#
#   make run        install build deps, build, label examples/config.json and print it
#   make test       install test deps (runc, podman, containerd, dockerd, ..., and the
#                   CRI client's grpcio from PyPI), build, run all tests
#   make test-deb   build the .deb, then install, use, remove and purge it on this
#                   host (CI runs it; it changes /usr and /etc)
#   make install    PREFIX=/usr DESTDIR=... : release binary, svirt-runc, man page,
#                   hooks.d files, the containers.conf drop-in, the gc timer,
#                   bash and zsh completions and the SELinux module's files
#                   (not loaded: see install-policy)
#   make deb        svirt-hook_VERSION_ARCH.deb of what make install installs,
#                   maintainer scripts included (packaging/deb/README.md)
#   make install-policy / uninstall-policy
#                   load / remove the svirt_container SELinux module (Debian,
#                   Ubuntu; a no-op where container-selinux is loaded), policy/README.md
#   make bench      run the bench/ scripts
#   make e2e        the labeled run under a real SELinux kernel (a VM, slow)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make sanitize   the test suite under AddressSanitizer, then ThreadSanitizer
#
# Each target installs the Debian/Ubuntu packages it needs, and only those
# not installed yet, so repeated runs cost nothing.

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
# podman-only hooks directory: it holds the precreate registration, which
# must never be in the shared directory (CRI-O refuses unknown stages).
SVIRTHOOKSDIR ?= $(DATADIR)/svirt-hook/hooks.d
# The directory podman and CRI-O both read by default: standard stages only.
OCIHOOKSDIR ?= /usr/share/containers/oci/hooks.d
CONTAINERSCONFDIR ?= /etc/containers/containers.conf.d
# The SELinux module and the script that loads it (policy/README.md).
POLICYDIR   ?= $(DATADIR)/svirt-hook/policy
# Shell completions for svirt-hook, where bash-completion and Debian's zsh
# look for them.
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/vendor-completions
# The hourly `svirt-hook gc` timer (installed, not enabled).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# The same gc for each user's own store (rootless podman): a user unit,
# enabled per user with `systemctl --user enable --now svirt-hook-gc.timer`.
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
# Flags for that gc, e.g. GC_FLAGS='--state-dir /run/svirt-hook' when
# HOOK_FLAGS moves the store.
GC_FLAGS    ?=
# Extra hook flags written into every hooks.d registration, e.g.
# HOOK_FLAGS='--state-dir /run/svirt-hook'.
HOOK_FLAGS  ?=
# The binary `install-files` copies; `install` builds it first.
BUILT       ?= $(CURDIR)/.build/release/svirt-hook

SWIFT       ?= swift
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `svirt-hook --version` prints: VERSION, and the commit when this
# directory is the top of a git checkout (not a tarball unpacked inside some
# other repository), "-dirty" with uncommitted changes to tracked files.
# Handed to swift build in the environment; Package.swift makes them C
# defines of the CVersion target only (Sources/CVersion/version.c: why).
VERSION     := $(shell cat $(CURDIR)/VERSION)
GIT_COMMIT  := $(shell [ "$$(git -C $(CURDIR) rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
                 c=$$(git -C $(CURDIR) rev-parse --short=7 HEAD 2>/dev/null) && \
                 { git -C $(CURDIR) diff --quiet HEAD -- 2>/dev/null && echo "$$c" || echo "$$c-dirty"; })
SWIFT_BUILD := SVIRT_VERSION='$(VERSION)' SVIRT_GIT_COMMIT='$(GIT_COMMIT)' $(SWIFT) build

BUILD_DEPS  := libselinux1-dev
TEST_DEPS   := $(BUILD_DEPS) runc crun podman conmon uidmap slirp4netns \
               containernetworking-plugins golang-github-containers-common \
               containerd busybox-static attr jq mandoc python3 python3-jsonschema zsh \
               golang-github-opencontainers-specs-dev docker.io python3-venv
# The CRI pod tests' client (Tests/IntegrationTests/cri) needs grpcio and
# grpcio-tools, which come from PyPI: into a venv of their own, where the
# tests look for it, so neither the system's python3 nor a user's
# site-packages changes. Where PyPI cannot be reached those tests skip and
# say why; nothing else needs the venv.
CRI_VENV    := $(CURDIR)/.build/cri-venv
CRI_PIP     := grpcio grpcio-tools

# apt-get update and install only when something is missing.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: all build release run test deps deps-test install install-files uninstall install-policy uninstall-policy deb test-deb bench e2e fuzz sanitize clean

all: build

deps:
	$(call apt_install,$(BUILD_DEPS))

deps-test:
	$(call apt_install,$(TEST_DEPS))
	@if ! "$(CRI_VENV)/bin/python" -c 'import grpc, grpc_tools.protoc' 2>/dev/null; then \
	  echo "installing into $(CRI_VENV): $(CRI_PIP)"; \
	  { python3 -m venv "$(CRI_VENV)" && \
	    "$(CRI_VENV)/bin/pip" install -q --disable-pip-version-check $(CRI_PIP); } || \
	  echo "deps-test: $(CRI_PIP) not installed: the CRI pod tests will skip"; \
	fi

build: deps
	$(SWIFT_BUILD)

run: build
	@echo "== examples/config.json labeled (--selinux=on --contexts examples/lxc_contexts --no-reserve):"
	@"$$($(SWIFT) build --show-bin-path)/svirt-hook" --selinux=on --contexts examples/lxc_contexts --no-reserve \
	    < examples/config.json > .build/example-labeled.json
	@cat .build/example-labeled.json; echo
	@echo "== the labels it added:"
	@grep -o '"\(selinuxLabel\|mountLabel\)": *"[^"]*"' .build/example-labeled.json

# SVIRT_TEST_DEB turns on DebPackageTests, which installs, removes and
# purges that .deb on this host (a plain `swift test` skips it). It adds
# about half a minute: the static release build and the package.
test: deps-test
	$(SWIFT) build
	$(SWIFT) test

# A fully static executable: the hook starts on every container start, and
# without the dynamic loader (libstdc++, libselinux, libpcre2 resolved at
# link time) it starts in about half the time (bench/hook); it also runs
# where no Swift toolchain is installed (a VM, a minimal host).
STATIC_FLAGS := --static-swift-stdlib -Xswiftc -static-executable -Xlinker -lpcre2-8
release: deps
	$(SWIFT_BUILD) -c release $(STATIC_FLAGS)

# render writes values into JSON strings and sed replacements inside
# single quotes without escaping them, so a value holding one of " \ & | '
# would install a broken registration or unit: refuse it with a clear
# message instead of escaping for three languages at once.
unsafe_in = $(strip $(foreach c," \ & | ',$(if $(findstring $(c),$(1)),$(c))))
define check_safe
$(if $(call unsafe_in,$($(1))),$(error $(1) must not contain any of: " \ & | ' - it is written unescaped into JSON and sed; got: $($(1))))
endef

# JSON string list of HOOK_FLAGS, appended to the registrations' args.
HOOK_ARGS_JSON = $(foreach f,$(HOOK_FLAGS),, "$(f)")

# GC_FLAGS as the gc service's @GC_ARGS@; the user unit gets none: each
# user's gc uses that user's own default store.
GC_ARGS = $(if $(GC_FLAGS), $(GC_FLAGS))

# $(3): what @GC_ARGS@ becomes (only the gc service has it).
define render
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SVIRTHOOKSDIR@|$(SVIRTHOOKSDIR)|g' \
	    -e 's|@OCIHOOKSDIR@|$(OCIHOOKSDIR)|g' -e 's|@HOOK_ARGS@|$(HOOK_ARGS_JSON)|g' \
	    -e 's|@GC_ARGS@|$(3)|g' $(1) > $(2)
endef

install: release
	$(MAKE) --no-print-directory install-files

install-files:
	$(foreach v,HOOK_FLAGS GC_FLAGS BINDIR SVIRTHOOKSDIR OCIHOOKSDIR,$(call check_safe,$(v)))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SVIRTHOOKSDIR) \
	           $(DESTDIR)$(OCIHOOKSDIR) $(DESTDIR)$(CONTAINERSCONFDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
	           $(DESTDIR)$(POLICYDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	           $(DESTDIR)$(SYSTEMDUSERUNITDIR)
	install -m 0644 completions/svirt-hook.bash $(DESTDIR)$(BASHCOMPDIR)/svirt-hook
	install -m 0644 completions/_svirt-hook $(DESTDIR)$(ZSHCOMPDIR)/_svirt-hook
	install -m 0644 policy/svirt_container.cil $(DESTDIR)$(POLICYDIR)/svirt_container.cil
	install -m 0755 policy/svirt-policy $(DESTDIR)$(POLICYDIR)/svirt-policy
	install -m 0755 $(BUILT) $(DESTDIR)$(BINDIR)/svirt-hook
	ln -sf svirt-hook $(DESTDIR)$(BINDIR)/svirt-runc
	install -m 0644 man/svirt-hook.1 $(DESTDIR)$(MANDIR)/man1/svirt-hook.1
	ln -sf svirt-hook.1 $(DESTDIR)$(MANDIR)/man1/svirt-runc.1
	$(call render,hooks.d/svirt-hook-precreate.json.in,$(DESTDIR)$(SVIRTHOOKSDIR)/50-svirt-hook-precreate.json)
	$(call render,hooks.d/svirt-hook-createruntime.json.in,$(DESTDIR)$(OCIHOOKSDIR)/50-svirt-hook-createruntime.json)
	$(call render,hooks.d/svirt-hook-poststop.json.in,$(DESTDIR)$(OCIHOOKSDIR)/50-svirt-hook-poststop.json)
	$(call render,hooks.d/50-svirt-hook.conf.in,$(DESTDIR)$(CONTAINERSCONFDIR)/50-svirt-hook.conf)
	$(call render,systemd/svirt-hook-gc.service.in,$(DESTDIR)$(SYSTEMDUNITDIR)/svirt-hook-gc.service,$(GC_ARGS))
	install -m 0644 systemd/svirt-hook-gc.timer $(DESTDIR)$(SYSTEMDUNITDIR)/svirt-hook-gc.timer
	$(call render,systemd/svirt-hook-gc.service.in,$(DESTDIR)$(SYSTEMDUSERUNITDIR)/svirt-hook-gc.service)
	install -m 0644 systemd/svirt-hook-gc.timer $(DESTDIR)$(SYSTEMDUSERUNITDIR)/svirt-hook-gc.timer
	chmod 0644 $(DESTDIR)$(SVIRTHOOKSDIR)/*.json $(DESTDIR)$(OCIHOOKSDIR)/50-svirt-hook-*.json \
	           $(DESTDIR)$(CONTAINERSCONFDIR)/50-svirt-hook.conf $(DESTDIR)$(SYSTEMDUNITDIR)/svirt-hook-gc.service \
	           $(DESTDIR)$(SYSTEMDUSERUNITDIR)/svirt-hook-gc.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/svirt-hook $(DESTDIR)$(BINDIR)/svirt-runc \
	      $(DESTDIR)$(MANDIR)/man1/svirt-hook.1 $(DESTDIR)$(MANDIR)/man1/svirt-runc.1 \
	      $(DESTDIR)$(SVIRTHOOKSDIR)/50-svirt-hook-precreate.json \
	      $(DESTDIR)$(OCIHOOKSDIR)/50-svirt-hook-createruntime.json \
	      $(DESTDIR)$(OCIHOOKSDIR)/50-svirt-hook-poststop.json \
	      $(DESTDIR)$(CONTAINERSCONFDIR)/50-svirt-hook.conf \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/svirt-hook-gc.service $(DESTDIR)$(SYSTEMDUNITDIR)/svirt-hook-gc.timer \
	      $(DESTDIR)$(SYSTEMDUSERUNITDIR)/svirt-hook-gc.service $(DESTDIR)$(SYSTEMDUSERUNITDIR)/svirt-hook-gc.timer \
	      $(DESTDIR)$(POLICYDIR)/svirt_container.cil $(DESTDIR)$(POLICYDIR)/svirt-policy \
	      $(DESTDIR)$(BASHCOMPDIR)/svirt-hook $(DESTDIR)$(ZSHCOMPDIR)/_svirt-hook
	-rmdir $(DESTDIR)$(SVIRTHOOKSDIR) $(DESTDIR)$(POLICYDIR) $(DESTDIR)$(DATADIR)/svirt-hook 2>/dev/null

# The Debian package: the release build installed into a stage as a
# packager would (PREFIX=/usr), then packaging/deb/build adds the control
# area and runs dpkg-deb; an error lintian finds fails the target. Units go to /lib/systemd/system, where Debian 12's
# packages still ship them (dpkg does not know /lib and /usr/lib are one).
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB         = svirt-hook_$(VERSION)_$(DEB_ARCH).deb
DEB_STAGE   = $(CURDIR)/.build/deb-root
DEB_DEPS    := binutils lintian
deb: release
	$(call apt_install,$(DEB_DEPS))
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install-files DESTDIR=$(DEB_STAGE) PREFIX=/usr \
	    SYSTEMDUNITDIR=/lib/systemd/system HOOK_FLAGS= GC_FLAGS=
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git -C $(CURDIR) log -1 --format=%ct 2>/dev/null || date +%s)} \
	    CLANG="$$(dirname "$$(command -v $(SWIFT))")/clang" sh packaging/deb/build $(DEB_STAGE) $(CURDIR)/$(DEB)
	lintian --fail-on error $(DEB)

# The package's test: installs the .deb with apt-get, runs a podman
# container through it, removes and purges it
# (Tests/IntegrationTests/DebPackageTests.swift). Not part of `make test`:
# it changes this host's /usr and /etc, and would replace (then purge) an
# svirt-hook a developer installed. CI, on a throwaway machine, runs it.
test-deb: deps-test deb
	$(SWIFT) build --build-tests
	SVIRT_TEST_DEB=$(CURDIR)/$(DEB) $(SWIFT) test --skip-build --filter DebPackageTests

# Loads the module from the checkout into the host's policy store (or the
# store under SVIRT_POLICY_ROOT). Both targets are safe to run twice.
POLICY_TOOLS := policycoreutils semodule-utils
install-policy:
	$(call apt_install,$(POLICY_TOOLS))
	sh policy/svirt-policy install policy/svirt_container.cil

uninstall-policy:
	$(call apt_install,$(POLICY_TOOLS))
	sh policy/svirt-policy uninstall

bench: build
	@found=0; for b in bench/*; do \
	  [ -f "$$b" ] && [ -x "$$b" ] || continue; found=1; echo "== $$b"; "$$b" || exit 1; \
	done; [ $$found = 1 ] || echo "make bench: no executable scripts in bench/"

# Fuzz/README.md: one target per parser, each checking a property.
fuzz: deps
	SWIFT=$(SWIFT) bash Fuzz/run

# Own build paths, so neither sanitizer build disturbs the plain one.
# Tests/sanitizers/README.md says what each covers and why each
# suppression is there.
sanitize: deps-test
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/sanitizers/lsan.supp \
	    $(SWIFT) test --sanitize=address --build-path .build-asan
	TSAN_OPTIONS=halt_on_error=1 \
	    $(SWIFT) test --sanitize=thread --build-path .build-tsan

e2e:
	@if [ -x Tests/e2e/selinux-vm/run ]; then Tests/e2e/selinux-vm/run; \
	else echo "make e2e: SKIPPED: Tests/e2e/selinux-vm/run is missing"; fi

clean:
	$(SWIFT) package clean
	rm -rf $(DEB_STAGE) svirt-hook_*.deb
