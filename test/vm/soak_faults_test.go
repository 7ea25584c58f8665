package vm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// plannedFault is a fault of the seeded stream before it runs: what, where, for how
// long, and the quiet gap after it.
type plannedFault struct {
	Kind      faultKind
	Host      string
	Hold, Gap time.Duration
	LossPct   int            // faultLoss
	Prios     map[string]int // faultHup: every host's new priority
}

// How long each kind lasts (uniform in [lo, hi]). Each is long enough to matter at
// 100 ms adverts (several Master_Down_Intervals at most), short enough for a few
// hundred in ten minutes.
var faultHold = map[faultKind][2]time.Duration{
	faultCut:      {500 * time.Millisecond, 1500 * time.Millisecond},
	faultLoss:     {500 * time.Millisecond, 2000 * time.Millisecond},
	faultKill:     {300 * time.Millisecond, 1000 * time.Millisecond},
	faultHup:      {0, 0},
	faultHog:      {500 * time.Millisecond, 2000 * time.Millisecond},
	faultFlood:    {500 * time.Millisecond, 1500 * time.Millisecond},
	faultFirewall: {500 * time.Millisecond, 2000 * time.Millisecond},
}

// The quiet gap after a fault, longer than soakExplain, so that a change of holders
// in the gap's remainder is one no fault explains.
var faultGap = [2]time.Duration{1500 * time.Millisecond, 2500 * time.Millisecond}

// planFaults draws the fault stream from seed: the same seed gives the same stream
// on either daemon, whatever the run's timing. It is longer than any run uses.
func planFaults(seed uint64, hosts []string) []plannedFault {
	rng := rand.New(rand.NewPCG(seed, 0x50a1c))
	between := func(r [2]time.Duration) time.Duration {
		if r[1] <= r[0] {
			return r[0]
		}
		return r[0] + time.Duration(rng.Int64N(int64(r[1]-r[0])))
	}
	var killable []string
	for _, h := range hosts {
		if h != soakSentinel {
			killable = append(killable, h)
		}
	}
	var plan []plannedFault
	for range 2000 {
		f := plannedFault{Kind: faultKinds[rng.IntN(len(faultKinds))]}
		f.Hold, f.Gap = between(faultHold[f.Kind]), between(faultGap)
		switch f.Kind {
		case faultKill:
			f.Host = killable[rng.IntN(len(killable))]
		case faultLoss:
			f.Host = hosts[rng.IntN(len(hosts))]
			f.LossPct = 10 + rng.IntN(41)
		case faultHup:
			ps := slices.Clone(soakPriorities)
			rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			f.Prios = map[string]int{}
			for i, h := range hosts {
				f.Prios[h] = ps[i%len(ps)]
			}
		case faultHog, faultFlood:
		default:
			f.Host = hosts[rng.IntN(len(hosts))]
		}
		plan = append(plan, f)
	}
	return plan
}

// inject runs one fault to its end and returns it timed. Lab errors end the test:
// a fault that could not be injected or undone leaves nothing to check.
func (s *soakRun) inject(ctx context.Context, pf plannedFault) soakFault {
	t, l := s.t, s.l
	f := soakFault{Kind: pf.Kind, Host: pf.Host, Start: s.since()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("soak: %s %s at %v: %v", pf.Kind, pf.Host, s.since(), err)
		}
	}
	switch pf.Kind {
	case faultCut:
		must(l.CutLink(pf.Host))
		time.Sleep(pf.Hold)
		must(l.RestoreLink(pf.Host))
	case faultLoss:
		f.Detail = fmt.Sprintf("%d%% both ways", pf.LossPct)
		nft(t, l, lab.Switch, fmt.Sprintf("table bridge soak_loss {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n"+
			"\t\tiifname %q numgen random mod 100 < %d drop\n\t\toifname %q numgen random mod 100 < %d drop\n\t}\n}\n", pf.Host, pf.LossPct, pf.Host, pf.LossPct))
		time.Sleep(pf.Hold)
		s.exec(lab.Switch, "nft", "delete", "table", "bridge", "soak_loss")
	case faultKill:
		s.mu.Lock()
		s.down[pf.Host] = true
		s.mu.Unlock()
		must(l.StopLB(pf.Host, syscall.SIGKILL))
		time.Sleep(pf.Hold)
		before := strings.Count(l.Log(pf.Host, "lb"), readyLine(l.Daemon(pf.Host)))
		restart := s.since()
		must(l.StartLB(pf.Host, s.config(pf.Host)))
		// The fault lasts until the new daemon runs: a start can wait for the
		// machine-wide bpffs lock of other labs' loaders.
		must(s.waitReady(pf.Host, before))
		f.Detail = fmt.Sprintf("dead %v, ready %v after the start", pf.Hold.Round(time.Millisecond), (s.since() - restart).Round(time.Millisecond))
		s.mu.Lock()
		s.down[pf.Host] = false
		s.mu.Unlock()
	case faultHup:
		s.mu.Lock()
		maps := pf.Prios
		for h, p := range maps {
			s.prio[h] = p
		}
		s.mu.Unlock()
		var parts []string
		for _, h := range l.LBs() {
			parts = append(parts, fmt.Sprintf("%s=%d", h, maps[h]))
			must(l.ReloadLB(h, s.config(h)))
		}
		f.Detail = strings.Join(parts, " ")
	case faultHog:
		n := runtime.NumCPU() + 1
		f.Detail = fmt.Sprintf("%d busy loops", n)
		s.hog(n, pf.Hold)
	case faultFlood:
		r, err := flood(ctx, l, pf.Hold, 1, ForeignVRID)
		must(err)
		f.Detail = fmt.Sprintf("%d forged adverts (VRID %d), %.0f/s", r.Total, lab.TutorialVRID+1, r.Rate())
	case faultFirewall:
		f.Detail = "INPUT: ip protocol vrrp drop"
		nft(t, l, pf.Host, "table inet soak_fw {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip protocol vrrp drop\n\t}\n}\n")
		time.Sleep(pf.Hold)
		s.exec(pf.Host, "nft", "delete", "table", "inet", "soak_fw")
	}
	f.End = s.since()
	return f
}

// readyLine is what a daemon logs once it runs its instances.
func readyLine(d lab.Daemon) string {
	if d == lab.Keepalived {
		return "Entering BACKUP STATE"
	}
	return `"msg":"ebpfvrrp running"`
}

// waitReady waits until host's daemon logged its ready line more than before times.
func (s *soakRun) waitReady(host string, before int) error {
	line := readyLine(s.l.Daemon(host))
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Count(s.l.Log(host, "lb"), line) > before {
			return nil
		}
		if !s.l.LBRunning(host) {
			return fmt.Errorf("%s: daemon exited while starting:\n%s", host, tail(s.l.Log(host, "lb"), 20))
		}
	}
	return fmt.Errorf("%s: no %q within 2 minutes of the start", host, line)
}

func (s *soakRun) exec(host string, argv ...string) {
	s.t.Helper()
	if out, err := s.l.Exec(host, argv...); err != nil {
		s.t.Fatalf("soak: %v\n%s", err, out)
	}
}

// hog runs n busy loops (shell processes at normal priority) for d.
func (s *soakRun) hog(n int, d time.Duration) {
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}()
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		c.SysProcAttr = lab.ProcAttr()
		if err := c.Start(); err != nil {
			s.t.Fatalf("soak: hog: %v", err)
		}
		cmds = append(cmds, c)
	}
	time.Sleep(d)
}
