#!/usr/bin/env bash
# test-install.sh DEB: install the package as an operator would, use it, remove
# and purge it, and check that nothing is left. Run by `make deb-test` (part of
# `make test`), as root. Whatever fails, the package is purged again (trap), and
# a package this script installed and could not remove (it was killed) is purged
# on the next run; a package installed by someone else is left alone.
set -euo pipefail

deb=$(realpath "$1")
pkg=ebpfvrrp
marker=/var/lib/ebpfvrrp-deb-test.installed
ns=ebpfvrrp-debtest-$$

say() { echo "deb-test: $*"; }
fail() {
	echo "deb-test: FAIL: $*" >&2
	exit 1
}
installed() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed\|deinstall ok config-files'; }

cleanup() {
	local rc=$?
	ip netns del "$ns" 2>/dev/null || true
	if [ -e "$marker" ]; then
		dpkg -P "$pkg" >/dev/null 2>&1 || true
		rm -f "$marker"
	fi
	exit $rc
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (it installs the package)"
if installed; then
	[ -e "$marker" ] || fail "$pkg is installed and not by this test; remove it or run elsewhere"
	say "purging the package an earlier, interrupted run left installed"
	dpkg -P "$pkg" >/dev/null
	rm -f "$marker"
fi

say "apt-get install $deb"
touch "$marker"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >/dev/null

# What the package must hold.
for f in /usr/sbin/ebpfvrrp /usr/lib/systemd/system/ebpfvrrp.service /etc/ebpfvrrp/ebpfvrrp.yaml \
	/usr/share/doc/ebpfvrrp/examples/lb-5.yaml /usr/share/doc/ebpfvrrp/examples/keepalived/lb-5.conf \
	/usr/share/doc/ebpfvrrp/copyright /usr/share/bash-completion/completions/ebpfvrrp /usr/share/man/man8/ebpfvrrp.8.gz; do
	[ -e "$f" ] || fail "$f not installed"
done
grep -q '^ExecStart=/usr/sbin/ebpfvrrp run --config /etc/ebpfvrrp/ebpfvrrp.yaml$' /usr/lib/systemd/system/ebpfvrrp.service ||
	fail "the unit's ExecStart does not run /usr/sbin/ebpfvrrp"
if grep -q /usr/local/ /usr/lib/systemd/system/ebpfvrrp.service; then fail "the unit still names /usr/local"; fi
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q '/etc/ebpfvrrp/ebpfvrrp.yaml' || fail "/etc/ebpfvrrp/ebpfvrrp.yaml is not a conffile"
dpkg-query -W -f='${Depends}\n' "$pkg" | grep -q iproute2 || fail "no dependency on iproute2"

say "ebpfvrrp -t -f on the installed examples"
/usr/sbin/ebpfvrrp version
/usr/sbin/ebpfvrrp validate --config /etc/ebpfvrrp/ebpfvrrp.yaml
# -t checks the interfaces exist, as keepalived -t does: the examples' eth0 is
# a veth in a namespace of our own (no packets are sent).
ip netns add "$ns"
ip -n "$ns" link add eth0 type veth peer name eth0-peer
for f in /usr/share/doc/ebpfvrrp/examples/keepalived/lb-5.conf /usr/share/doc/ebpfvrrp/examples/lb-5.yaml; do
	ip netns exec "$ns" /usr/sbin/ebpfvrrp -t -f "$f" || fail "ebpfvrrp -t -f $f exited $?"
done
ip netns del "$ns"

say "man -w ebpfvrrp: $(man -w ebpfvrrp)"
man -w ebpfvrrp | grep -q '/usr/share/man/man8/ebpfvrrp.8' || fail "man does not find ebpfvrrp(8)"
MANWIDTH=80 man ebpfvrrp 2>&1 >/dev/null | grep . && fail "man ebpfvrrp warns"
bash -c 'source /usr/share/bash-completion/completions/ebpfvrrp && complete -p ebpfvrrp' >/dev/null ||
	fail "the bash completion does not load"

say "dpkg -r"
dpkg -r "$pkg" >/dev/null
for f in /usr/sbin/ebpfvrrp /usr/lib/systemd/system/ebpfvrrp.service /usr/share/doc/ebpfvrrp \
	/usr/share/man/man8/ebpfvrrp.8.gz /usr/share/bash-completion/completions/ebpfvrrp; do
	[ ! -e "$f" ] || fail "$f left after dpkg -r"
done
[ -e /etc/ebpfvrrp/ebpfvrrp.yaml ] || fail "dpkg -r removed the conffile (only purge may)"

say "dpkg -P"
dpkg -P "$pkg" >/dev/null
rm -f "$marker"
# Not /run/ebpfvrrp: daemons started by hand (tests, other namespaces) keep their
# control sockets there whether or not the package is installed.
for f in /usr/sbin/ebpfvrrp /etc/ebpfvrrp /usr/share/doc/ebpfvrrp /usr/lib/systemd/system/ebpfvrrp.service \
	/usr/share/man/man8/ebpfvrrp.8.gz /usr/share/bash-completion/completions/ebpfvrrp; do
	[ ! -e "$f" ] || fail "$f left after dpkg -P"
done
if installed; then fail "$pkg still known to dpkg after purge"; fi
say "OK: installed, used, removed and purged cleanly"
