package control

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	ourAddr   = netip.MustParseAddr("198.18.0.5")
	lowAddr   = netip.MustParseAddr("198.18.0.4")
	highAddr  = netip.MustParseAddr("198.18.0.6")
	t0        = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sec       = time.Second
	skew100v3 = 156 * time.Second / 256 // (256-100)×1s/256
)

func baseCfg() InstanceConfig {
	return InstanceConfig{
		Name: "VI_1", Interface: "eth0", Key: InstanceKey{Ifindex: 2, VRID: 50},
		Version: 3, Priority: 100, AdvertInterval: time.Second, Preempt: true,
		PrimaryAddr: ourAddr,
		VIPs:        []VIP{{Prefix: netip.MustParsePrefix("198.18.1.100/32")}},
	}
}

type step struct {
	at time.Duration // since t0
	ev Event
}

// masterActs is what entering Master always does, in order.
func masterActs(from State, r Reason, prio uint8) []Action {
	return []Action{
		AddVIPs{}, Announce{}, Transition{From: from, To: Master, Reason: r, Priority: prio, Master: ourAddr},
		CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
		SetKernelState{Master, prio}, SendAdvert{prio},
		ArmTimer{TimerAdvert, time.Second}, Notify{HookMaster},
	}
}

func render(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = fmt.Sprintf("%T%+v", a, a)
	}
	return out
}

// diffActions prints a line diff of two action lists, (-want +got).
func diffActions(want, got []Action) string {
	w, g := render(want), render(got)
	if strings.Join(w, "\n") == strings.Join(g, "\n") {
		return ""
	}
	var b strings.Builder
	n := max(len(w), len(g))
	for i := 0; i < n; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			fmt.Fprintf(&b, "  %s\n", wl)
			continue
		}
		if wl != "" {
			fmt.Fprintf(&b, "- %s\n", wl)
		}
		if gl != "" {
			fmt.Fprintf(&b, "+ %s\n", gl)
		}
	}
	return b.String()
}

func TestMachine(t *testing.T) {
	backupStart := func(c *InstanceConfig) {}
	tests := []struct {
		name      string
		cfg       func(*InstanceConfig)
		steps     []step
		want      []Action // actions of the last step
		wantState State
	}{
		{
			name:      "owner starts as master",
			cfg:       func(c *InstanceConfig) { c.Priority = 255 },
			steps:     []step{{0, Startup{}}},
			want:      masterActs(Init, ReasonPriorityOwner, 255),
			wantState: Master,
		},
		{
			name:  "non-owner starts as backup with master down interval",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}},
			want: []Action{
				Transition{From: Init, To: Backup, Reason: ReasonStartup, Priority: 100},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:  "v2 skew is (256-prio)/256 s whatever the interval",
			cfg:   func(c *InstanceConfig) { c.Version = 2; c.AdvertInterval = 2 * sec; c.Priority = 200 },
			steps: []step{{0, Startup{}}},
			want: []Action{
				Transition{From: Init, To: Backup, Reason: ReasonStartup, Priority: 200},
				SetKernelState{Backup, 200}, ArmTimer{TimerMasterDown, 6*sec + 56*sec/256}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:  "state master hint waits one interval plus skew",
			cfg:   func(c *InstanceConfig) { c.StartMaster = true },
			steps: []step{{0, Startup{}}},
			want: []Action{
				Transition{From: Init, To: Backup, Reason: ReasonStartup, Priority: 100},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:      "backup on kernel master down becomes master",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {time.Second, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "backup on userspace deadline with nothing heard becomes master",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {3700 * time.Millisecond, MasterDownTimer{}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name: "descheduled deadline re-arms for the remainder when the master was heard",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}},
				{9 * sec, MasterDownTimer{Heard: true, Age: sec}}},
			want:      []Action{ArmTimer{TimerMasterDown, 2*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name: "with the kernel's timer a heard master is re-checked only as a safety net",
			cfg: func(c *InstanceConfig) {
				c.AdvertInterval, c.KernelTimer = 10*time.Millisecond, true
			},
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, 10 * time.Millisecond}},
				{2 * sec, MasterDownTimer{Heard: true, Age: 5 * time.Millisecond}}},
			want:      []Action{ArmTimer{TimerMasterDown, SafetyNetInterval}},
			wantState: Backup,
		},
		{
			name: "with the kernel's timer a silent master is still down at once",
			cfg: func(c *InstanceConfig) {
				c.AdvertInterval, c.KernelTimer = 10*time.Millisecond, true
			},
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, 10 * time.Millisecond}},
				{2 * sec, MasterDownTimer{Heard: true, Age: 40 * time.Millisecond}}},
			want: func() []Action {
				acts := masterActs(Backup, ReasonMasterDownExpired, 100)
				acts[7] = ArmTimer{TimerAdvert, 10 * time.Millisecond}
				return acts
			}(),
			wantState: Master,
		},
		{
			name: "heard but older than master down interval means down",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}},
				{9 * sec, MasterDownTimer{Heard: true, Age: 4 * sec}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name: "priority zero arms master down at skew time",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}},
				{2 * sec, KernelPrioZero{highAddr}}},
			want:      []Action{ArmTimer{TimerMasterDown, skew100v3}},
			wantState: Backup,
		},
		{
			name: "priority zero then skew time expires: master even though just heard",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}},
				{2 * sec, KernelPrioZero{highAddr}}, {2*sec + skew100v3, MasterDownTimer{Heard: true, Age: skew100v3}}},
			want:      masterActs(Backup, ReasonPriorityZeroReceived, 100),
			wantState: Master,
		},
		{
			name: "priority zero then a new master: back to normal",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}},
				{2 * sec, KernelPrioZero{highAddr}}, {2100 * time.Millisecond, KernelNewMaster{lowAddr, 150, sec}},
				{3 * sec, MasterDownTimer{Heard: true, Age: 900 * time.Millisecond}}},
			want:      []Action{ArmTimer{TimerMasterDown, 2100*time.Millisecond + skew100v3}},
			wantState: Backup,
		},
		{
			name: "preempt on: lower priority master is ignored, deadline takes over",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 200 * time.Millisecond}}},
			want:      masterActs(Backup, ReasonPreempt, 100),
			wantState: Master,
		},
		{
			name: "preempt off: lower priority master keeps the role",
			cfg:  func(c *InstanceConfig) { c.Preempt = false },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 200 * time.Millisecond}}},
			want:      []Action{ArmTimer{TimerMasterDown, 2800*time.Millisecond + skew100v3}},
			wantState: Backup,
		},
		{
			name: "preempt off: the owner preempts anyway",
			cfg:  func(c *InstanceConfig) { c.Preempt = false; c.Priority = 255 },
			steps: []step{{0, Startup{}}, {sec, KernelPreempt{highAddr, 255, sec}},
				{2 * sec, KernelNewMaster{highAddr, 200, sec}},
				{5 * sec, MasterDownTimer{Heard: true, Age: 200 * time.Millisecond}}},
			want:      masterActs(Backup, ReasonPreempt, 255),
			wantState: Master,
		},
		{
			name: "equal priority backup does not preempt",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 100, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 0}}},
			want:      []Action{ArmTimer{TimerMasterDown, 3*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name: "preempt delay holds back preemption at startup",
			cfg:  func(c *InstanceConfig) { c.PreemptDelay = 10 * sec },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 500 * time.Millisecond}}},
			want:      []Action{ArmTimer{TimerPreemptDelay, 6 * sec}, ArmTimer{TimerMasterDown, 2500*time.Millisecond + skew100v3}},
			wantState: Backup,
		},
		{
			name: "preempt delay expiry takes over",
			cfg:  func(c *InstanceConfig) { c.PreemptDelay = 10 * sec },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 500 * time.Millisecond}}, {10 * sec, PreemptDelayTimer{}}},
			want:      masterActs(Backup, ReasonPreemptDelayExpired, 100),
			wantState: Master,
		},
		{
			name: "preempt delay does not hold back a takeover from a dead master",
			cfg:  func(c *InstanceConfig) { c.PreemptDelay = 10 * sec },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, KernelMasterDown{}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name: "preempt delay timer is ignored when the master outranks us by then",
			cfg:  func(c *InstanceConfig) { c.PreemptDelay = 10 * sec },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 0}}, {5 * sec, KernelPrioChange{lowAddr, 150}},
				{10 * sec, PreemptDelayTimer{}}},
			want:      nil,
			wantState: Backup,
		},
		{
			name: "master on higher priority advert steps down and adopts the v3 interval",
			cfg:  func(c *InstanceConfig) { c.Priority = 255 },
			steps: []step{{0, Startup{}}, {0, PriorityChanged{100}}, // owner ignores trackers
				{sec, KernelPreempt{highAddr, 255, 2 * sec}}},
			want: []Action{
				Transition{From: Master, To: Backup, Reason: ReasonHigherPrioritySeen, Priority: 255, Master: highAddr},
				CancelTimer{TimerAdvert}, RemoveVIPs{},
				SetKernelState{Backup, 255}, ArmTimer{TimerMasterDown, 6*sec + 2*sec/256}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:  "master on equal priority and higher address steps down",
			cfg:   func(c *InstanceConfig) { c.StartMaster = true },
			steps: []step{{0, Startup{}}, {2 * sec, KernelMasterDown{}}, {3 * sec, KernelPreempt{highAddr, 100, sec}}},
			want: []Action{
				Transition{From: Master, To: Backup, Reason: ReasonHigherPrioritySeen, Priority: 100, Master: highAddr},
				CancelTimer{TimerAdvert}, RemoveVIPs{},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:      "master ignores a stale preempt with equal priority and lower address",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelPreempt{lowAddr, 100, sec}}},
			want:      []Action{SendAdvert{100}, ArmTimer{TimerAdvert, sec}},
			wantState: Master,
		},
		{
			name:  "master shutdown sends priority zero and removes VIPs",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, Shutdown{}}},
			want: []Action{
				Transition{From: Master, To: Init, Reason: ReasonShutdown, Priority: 100},
				SendAdvert{0}, RemoveVIPs{},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Init, 100}, Notify{HookStop},
			},
			wantState: Init,
		},
		{
			name:  "backup shutdown sends nothing",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {sec, Shutdown{Reason: ReasonConfigReload}}},
			want: []Action{
				Transition{From: Backup, To: Init, Reason: ReasonConfigReload, Priority: 100},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Init, 100}, Notify{HookStop},
			},
			wantState: Init,
		},
		{
			name:      "v3 backup adopts the master's advert interval",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, 100 * time.Millisecond}}},
			want:      []Action{ArmTimer{TimerMasterDown, 300*time.Millisecond + 156*100*time.Millisecond/256}},
			wantState: Backup,
		},
		{
			name:      "v2 backup keeps its own interval",
			cfg:       func(c *InstanceConfig) { c.Version = 2 },
			steps:     []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, 3 * sec}}},
			want:      []Action{ArmTimer{TimerMasterDown, 3*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name:      "tracker lowers a master's priority: kernel told, next advert carries it",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, PriorityChanged{90}}},
			want:      []Action{SetKernelState{Master, 90}},
			wantState: Master,
		},
		{
			name:      "advert after priority change carries it",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, PriorityChanged{90}}, {6 * sec, AdvertTimer{}}},
			want:      []Action{SendAdvert{90}, ArmTimer{TimerAdvert, sec}},
			wantState: Master,
		},
		{
			name:      "effective priority is clamped to 254",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, PriorityChanged{255}}},
			want:      []Action{SetKernelState{Backup, 254}},
			wantState: Backup,
		},
		{
			name: "tracker raises a backup above the master: preempts at the deadline",
			cfg:  func(c *InstanceConfig) { c.Priority = 90 },
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 100, sec}}, {2 * sec, PriorityChanged{110}},
				{4 * sec, MasterDownTimer{Heard: true, Age: 100 * time.Millisecond}}},
			want:      masterActs(Backup, ReasonPreempt, 110),
			wantState: Master,
		},
		{
			name:  "weight-0 tracker fails on master: fault, priority zero, VIPs released",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, TrackerFault{}}},
			want: []Action{
				Transition{From: Master, To: Fault, Reason: ReasonTrackerFailed, Priority: 100},
				SendAdvert{0}, RemoveVIPs{},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Fault, 100}, Notify{HookFault},
			},
			wantState: Fault,
		},
		{
			name:  "interface down on master: fault without an advert",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, InterfaceDown{}}},
			want: []Action{
				Transition{From: Master, To: Fault, Reason: ReasonInterfaceDown, Priority: 100},
				RemoveVIPs{},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Fault, 100}, Notify{HookFault},
			},
			wantState: Fault,
		},
		{
			name:  "tracker recovers: fault to backup",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {sec, TrackerFault{}}, {2 * sec, TrackerRecovered{}}},
			want: []Action{
				Transition{From: Fault, To: Backup, Reason: ReasonTrackerRecovered, Priority: 100},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:  "fault needs every cause cleared",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {sec, TrackerFault{}}, {sec, InterfaceDown{}}, {2 * sec, TrackerRecovered{}}},
			want:  nil, wantState: Fault,
		},
		{
			name:  "interface down before startup starts in fault",
			cfg:   backupStart,
			steps: []step{{0, InterfaceDown{}}, {0, Startup{}}},
			want: []Action{
				Transition{From: Init, To: Fault, Reason: ReasonInterfaceDown, Priority: 100},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Fault, 100}, Notify{HookFault},
			},
			wantState: Fault,
		},
		{
			name:      "leaving fault restarts the preempt delay",
			cfg:       func(c *InstanceConfig) { c.PreemptDelay = 10 * sec },
			steps:     []step{{0, Startup{}}, {sec, InterfaceDown{}}, {20 * sec, InterfaceUp{}}, {21 * sec, KernelNewMaster{lowAddr, 50, sec}}, {24 * sec, MasterDownTimer{Heard: true, Age: 0}}},
			want:      []Action{ArmTimer{TimerPreemptDelay, 6 * sec}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name:  "sync group fault drags a master into fault",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, SyncGroupState{Fault}}},
			want: []Action{
				Transition{From: Master, To: Fault, Reason: ReasonSyncGroup, Priority: 100},
				SendAdvert{0}, RemoveVIPs{},
				CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
				SetKernelState{Fault, 100}, Notify{HookFault},
			},
			wantState: Fault,
		},
		{
			name:  "sync group backup releases a forced fault",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {sec, SyncGroupState{Fault}}, {2 * sec, SyncGroupState{Backup}}},
			want: []Action{
				Transition{From: Fault, To: Backup, Reason: ReasonSyncGroup, Priority: 100},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:      "sync group backup does not release our own fault",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, TrackerFault{}}, {sec, SyncGroupState{Fault}}, {2 * sec, SyncGroupState{Backup}}},
			want:      nil,
			wantState: Fault,
		},
		{
			name:      "sync group master pulls a backup up",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, SyncGroupState{Master}}},
			want:      masterActs(Backup, ReasonSyncGroup, 100),
			wantState: Master,
		},
		{
			// keepalived's vrrp_state_master_rx (keepalived/vrrp/vrrp.c) answers a
			// lower priority with an advert and its GARPs (garp_lower_prio_repeat).
			name:  "both masters, lower peer, alert: detect, answer at once and GARP again",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelBothMasters{Addr: highAddr, Prio: 50}}},
			want: []Action{
				SplitBrainDetected{Peer: highAddr, PeerPriority: 50, Priority: 100, Action: SplitBrainAlert},
				SendAdvert{100}, ArmTimer{TimerAdvert, sec}, Reannounce{LowerPriority: true},
			},
			wantState: Master,
		},
		{
			name:  "both masters, lower peer, no lower-priority GARP (garp_lower_prio_repeat 0)",
			cfg:   func(c *InstanceConfig) { backupStart(c); c.NoLowerPrioGARP = true },
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelBothMasters{Addr: highAddr, Prio: 50}}},
			want: []Action{
				SplitBrainDetected{Peer: highAddr, PeerPriority: 50, Priority: 100, Action: SplitBrainAlert},
				SendAdvert{100}, ArmTimer{TimerAdvert, sec},
			},
			wantState: Master,
		},
		{
			name:  "both masters, equal priority and lower address: answered, no GARP",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelBothMasters{Addr: lowAddr, Prio: 100}}},
			want: []Action{
				SplitBrainDetected{Peer: lowAddr, PeerPriority: 100, Priority: 100, Action: SplitBrainAlert},
				SendAdvert{100}, ArmTimer{TimerAdvert, sec},
			},
			wantState: Master,
		},
		{
			name: "both masters on a secondary path, we lose, demote: back to backup",
			cfg:  func(c *InstanceConfig) { c.SplitBrain = SplitBrainDemote },
			// With demote the Backup probes the VIPs before taking over; nobody answers.
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {4 * sec, TakeoverProbed{Seq: 1}},
				{5 * sec, KernelBothMasters{Addr: lowAddr, Prio: 200, Secondary: true}}},
			want: []Action{
				SplitBrainDetected{Peer: lowAddr, PeerPriority: 200, Priority: 100, Secondary: true, Action: SplitBrainDemote, Demoted: true},
				Notify{HookSplitBrainEnd}, // the loser's demotion ends it at once
				Transition{From: Master, To: Backup, Reason: ReasonSplitBrainDemote, Priority: 100, Master: lowAddr},
				CancelTimer{TimerAdvert}, RemoveVIPs{},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name: "both masters, the other one gives up (priority 0): split brain over",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelBothMasters{Addr: highAddr, Prio: 50}},
				{6 * sec, KernelPrioZero{Addr: highAddr}}},
			want:      []Action{Notify{HookSplitBrainEnd}, SendAdvert{100}, ArmTimer{TimerAdvert, sec}},
			wantState: Master,
		},
		{
			name: "both masters on a secondary path, equal priority, we have the higher address: keep master",
			cfg:  func(c *InstanceConfig) { c.SplitBrain = SplitBrainDemote },
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {4 * sec, TakeoverProbed{Seq: 1}},
				{5 * sec, KernelBothMasters{Addr: lowAddr, Prio: 100, Secondary: true}}},
			want: []Action{
				SplitBrainDetected{Peer: lowAddr, PeerPriority: 100, Priority: 100, Secondary: true, Action: SplitBrainDemote},
			},
			wantState: Master,
		},
		{
			name:  "both masters on a secondary path, we lose, alert only: stay master",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelBothMasters{Addr: highAddr, Prio: 100, Secondary: true}}},
			want: []Action{
				SplitBrainDetected{Peer: highAddr, PeerPriority: 100, Priority: 100, Secondary: true, Action: SplitBrainAlert},
			},
			wantState: Master,
		},
		{
			name:      "path failure: primary silent, secondary alive, stay backup",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}}},
			want:      []Action{ArmTimer{TimerMasterDown, 3*sec + skew100v3}, PathFailureChanged{Active: true}},
			wantState: Backup,
		},
		{
			name: "path failure is reported once",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}},
				{9 * sec, MasterDownTimer{SecondaryAlive: true}}},
			want:      []Action{ArmTimer{TimerMasterDown, 3*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name: "path failure ends when the secondary goes silent too: take over",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}},
				{9 * sec, MasterDownTimer{}}},
			want: append([]Action{
				AddVIPs{}, Announce{}, Transition{From: Backup, To: Master, Reason: ReasonMasterDownExpired, Priority: 100, Master: ourAddr},
				CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay}, PathFailureChanged{}},
				masterActs(Backup, ReasonMasterDownExpired, 100)[5:]...),
			wantState: Master,
		},
		{
			name: "path failure ends when the primary is heard again",
			cfg:  backupStart,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}},
				{6 * sec, KernelNewMaster{highAddr, 200, sec}}},
			want:      []Action{PathFailureChanged{}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}},
			wantState: Backup,
		},
		{
			name:      "takeover on path failure when configured",
			cfg:       func(c *InstanceConfig) { c.TakeoverOnPathFailure = true },
			steps:     []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "master answers a priority zero advert at once",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {4 * sec, KernelMasterDown{}}, {5 * sec, KernelPrioZero{highAddr}}},
			want:      []Action{SendAdvert{100}, ArmTimer{TimerAdvert, sec}},
			wantState: Master,
		},
		{
			name:      "stale timers are ignored",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, AdvertTimer{}}},
			want:      nil,
			wantState: Backup,
		},
		{
			name:      "startup twice is a no-op",
			cfg:       backupStart,
			steps:     []step{{0, Startup{}}, {sec, Startup{}}},
			want:      nil,
			wantState: Backup,
		},
		{
			name:  "restart after shutdown",
			cfg:   backupStart,
			steps: []step{{0, Startup{}}, {sec, Shutdown{}}, {2 * sec, Startup{}}},
			want: []Action{
				Transition{From: Init, To: Backup, Reason: ReasonStartup, Priority: 100},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, 3*sec + skew100v3}, Notify{HookBackup},
			},
			wantState: Backup,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseCfg()
			tt.cfg(&cfg)
			m := NewMachine(cfg)
			var got []Action
			for _, s := range tt.steps {
				got = m.Handle(t0.Add(s.at), s.ev)
			}
			if d := diffActions(tt.want, got); d != "" {
				t.Errorf("actions of the last step (-want +got):\n%s", d)
			}
			if st := m.Status().State; st != tt.wantState {
				t.Errorf("state = %v, want %v", st, tt.wantState)
			}
		})
	}
}

func TestMasterDownInterval(t *testing.T) {
	tests := []struct {
		version  int
		interval time.Duration
		prio     uint8
		want     time.Duration
	}{
		{3, time.Second, 100, 3*time.Second + 156*time.Second/256},
		{3, 10 * time.Millisecond, 254, 30*time.Millisecond + 2*10*time.Millisecond/256},
		{3, 10 * time.Millisecond, 1, 30*time.Millisecond + 255*10*time.Millisecond/256},
		{2, time.Second, 255, 3*time.Second + time.Second/256},
		{2, 3 * time.Second, 1, 9*time.Second + 255*time.Second/256},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("v%d/%v/%d", tt.version, tt.interval, tt.prio), func(t *testing.T) {
			if got := MasterDownInterval(tt.version, tt.interval, tt.prio); got != tt.want {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Init.String(), "INIT"}, {Backup.String(), "BACKUP"}, {Master.String(), "MASTER"}, {Fault.String(), "FAULT"},
		{State(9).String(), "State(9)"},
		{ReasonMasterDownExpired.String(), "master_down_expired"}, {ReasonSplitBrainDemote.String(), "split_brain_demote"},
		{ReasonPathFailure.String(), "path_failure"}, {Reason(200).String(), "Reason(200)"},
		{HookSplitBrain.String(), "SPLIT_BRAIN"}, {SplitBrainDemote.String(), "demote"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
