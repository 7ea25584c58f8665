package control

import (
	"strings"
	"testing"
	"time"
)

// TestMachineAdopt: a restarted daemon resumes the state the kernel kept. A
// Master advertises at once, without the side effects of a new Master (no
// GARP burst, no hook, no priority 0); what the earlier run did not know (a
// fault, owner status) goes through Startup.
func TestMachineAdopt(t *testing.T) {
	mdi := 3*sec + skew100v3
	adoptedMaster := []Action{
		Transition{From: Init, To: Master, Reason: ReasonAdopted, Priority: 100, Master: ourAddr},
		SetKernelState{Master, 100}, SendAdvert{100}, ArmTimer{TimerAdvert, time.Second},
		AddVIPs{}, Refresh{},
	}
	tests := []struct {
		name   string
		cfg    func(*InstanceConfig)
		before []Event // fed before Adopt
		state  State
		want   []Action
		after  State
	}{
		{name: "master", state: Master, want: adoptedMaster, after: Master},
		{name: "master with StartMaster hint", cfg: func(c *InstanceConfig) { c.StartMaster = true },
			state: Master, want: adoptedMaster, after: Master},
		{name: "backup", state: Backup, after: Backup, want: []Action{
			Transition{From: Init, To: Backup, Reason: ReasonAdopted, Priority: 100},
			SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, mdi},
		}},
		{name: "fault known before adopt starts in fault", before: []Event{InterfaceDown{}}, state: Master, after: Fault,
			want: []Action{
				Transition{From: Init, To: Fault, Reason: ReasonInterfaceDown, Priority: 100},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Fault, 100}, Notify{HookFault},
			}},
		{name: "owner left as backup starts as owner", cfg: func(c *InstanceConfig) { c.Priority = 255 },
			state: Backup, after: Master, want: ownerMasterActs()},
		{name: "init is a startup", state: Init, after: Backup, want: []Action{
			Transition{From: Init, To: Backup, Reason: ReasonStartup, Priority: 100},
			SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, mdi}, Notify{HookBackup},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseCfg()
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			m := NewMachine(c)
			for _, ev := range tt.before {
				m.Handle(t0, ev)
			}
			got := m.Handle(t0, Adopt{State: tt.state})
			if d := diffActions(tt.want, got); d != "" {
				t.Errorf("Adopt{%v} actions (-want +got):\n%s", tt.state, d)
			}
			if st := m.Status(); st.State != tt.after {
				t.Errorf("state after Adopt = %v; want %v", st.State, tt.after)
			}
			if got := m.Handle(t0, Adopt{State: tt.state}); got != nil {
				t.Errorf("a second Adopt = %v; want nothing", render(got))
			}
		})
	}
}

// TestMachineAdoptedMasterBehaves: after adoption the machine is an ordinary
// Master: it keeps advertising, and a shutdown is the RFC one.
func TestMachineAdoptedMasterBehaves(t *testing.T) {
	m := NewMachine(baseCfg())
	m.Handle(t0, Adopt{State: Master})
	if d := diffActions([]Action{SendAdvert{100}, ArmTimer{TimerAdvert, time.Second}}, m.Handle(t0.Add(sec), AdvertTimer{})); d != "" {
		t.Errorf("AdvertTimer (-want +got):\n%s", d)
	}
	got := m.Handle(t0.Add(2*sec), Shutdown{})
	want := []Action{
		Transition{From: Master, To: Init, Reason: ReasonShutdown, Priority: 100},
		SendAdvert{0}, RemoveVIPs{},
		CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
		SetKernelState{Init, 100}, Notify{HookStop},
	}
	if d := diffActions(want, got); d != "" {
		t.Errorf("Shutdown (-want +got):\n%s", d)
	}
}

func ownerMasterActs() []Action { return masterActs(Init, ReasonPriorityOwner, 255) }

// TestRunnerAdopt: an instance in Setup.Adopt is written to the kernel in the
// state it resumes, advertises in the first batch, refreshes its VIPs once
// (no GARP schedule of a new Master) and runs no hook; the others start as
// usual.
func TestRunnerAdopt(t *testing.T) {
	h := newHarness(t, Setup{
		Instances: []InstanceConfig{inst("VI_1", 50, 100, "198.18.1.100/32"), inst("VI_2", 51, 100, "198.18.1.101/32")},
		Adopt:     map[string]State{"VI_1": Master},
	})
	h.wantState(t, "VI_1", Master)
	h.wantState(t, "VI_2", Backup)
	if c := h.dp.instances[InstanceKey{Ifindex: 2, VRID: 50}]; c.State != Master {
		t.Errorf("kernel instance written with state %v; want MASTER from the first write", c.State)
	}
	if d := diffBatches([][]string{{"VI_1/100"}}, priorities(h.send.take())); d != "" {
		t.Errorf("adverts (-want +got):\n%s", d)
	}
	if d := diffPrefixes(prefixes("198.18.1.100/32"), h.addrs.get("VI_1")); d != "" {
		t.Errorf("VIPs (-want +got):\n%s", d)
	}
	h.ann.mu.Lock()
	starts, refreshes := h.ann.starts, h.ann.refreshes
	h.ann.mu.Unlock()
	if starts != 0 || refreshes != 1 {
		t.Errorf("announcer: %d schedules, %d refreshes; want 0 and 1", starts, refreshes)
	}
	for _, n := range h.notif.summary() {
		if strings.Contains(n, "VI_1") {
			t.Errorf("hook ran for the adopted instance: %s", n)
		}
	}
	if st := h.status(t, "VI_1"); st.LastReason != ReasonAdopted {
		t.Errorf("last reason = %v; want adopted", st.LastReason)
	}
}

// TestRunnerAbandon: a daemon handing over to its successor leaves
// everything as it is: no priority 0, the VIPs and the kernel state stay,
// no hook, and its timers stop sending.
func TestRunnerAbandon(t *testing.T) {
	h := newHarness(t, Setup{Instances: []InstanceConfig{inst("VI_1", 50, 100, "198.18.1.100/32")},
		Adopt: map[string]State{"VI_1": Master}})
	h.wantState(t, "VI_1", Master)
	h.send.take()
	notes := len(h.notif.summary())
	h.r.Abandon()
	h.clock.Advance(5 * sec)
	if b := h.send.take(); len(b) != 0 {
		t.Errorf("adverts after Abandon: %v", priorities(b))
	}
	if d := diffPrefixes(prefixes("198.18.1.100/32"), h.addrs.get("VI_1")); d != "" {
		t.Errorf("VIPs after Abandon (-want +got):\n%s", d)
	}
	if st, _ := h.dp.state(InstanceKey{Ifindex: 2, VRID: 50}); st != Master {
		t.Errorf("kernel state after Abandon = %v; want MASTER left as it was", st)
	}
	if got := h.notif.summary(); len(got) != notes {
		t.Errorf("hooks ran on Abandon: %v", got[notes:])
	}
}
