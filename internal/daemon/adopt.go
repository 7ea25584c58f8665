package daemon

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
)

// Adopt on start: a daemon that starts over the pins of an earlier run (a
// crash and a restart, an upgrade) resumes each instance in the state the
// kernel kept, if the earlier run ran it with the same config and, for a
// Master, if the peers cannot have taken over yet. Everything else starts
// clean, as a first start does.

// adoptMargin is taken off the peers' Master_Down_Interval: the time from the
// decision to our first advert, so that it reaches the backups before their
// timer runs out rather than just after.
const adoptMargin = 10 * time.Millisecond

// configHash is the identity of an instance's config for adoption: what the
// kernel validates adverts against, what we advertise, and which addresses we
// hold. Trackers, hooks, preempt delay and GARP settings are left out: they
// change nothing a resumed Master has already done, and a reload applies them
// in place too.
func configHash(c control.InstanceConfig) uint64 {
	id := struct {
		Name, Interface        string
		Key                    control.InstanceKey
		Version                int
		Priority               uint8
		Interval               time.Duration
		Preempt                bool
		Primary                any
		Peers, Allowed         any
		Group                  any
		AuthType               uint8
		AuthData               [8]byte
		VIPs, Excluded         []control.VIP
		Paths                  []control.Path
		DontTrackPrimary, Unic bool
	}{
		c.Name, c.Interface, c.Key, c.Version, c.Priority, c.AdvertInterval, c.Preempt,
		c.PrimaryAddr, c.Peers, c.AllowedPeers, c.Group, c.AuthType, c.AuthData,
		c.VIPs, c.ExcludedVIPs, c.SecondaryPaths, c.DontTrackPrimary, len(c.Peers) > 0,
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%+v", id))
	return binary.LittleEndian.Uint64(sum[:8]) | 1 // 0 means none stored
}

// adoption is the verdict for one instance.
type adoption struct {
	state control.State // Master or Backup when adopted
	ok    bool
	why   string // for a clean start
}

// previousState is what the dataplane kept of an instance (loader.Previous),
// and the peers heard since, as adopt needs it.
type previousState struct {
	found    bool
	state    loader.State
	hash     uint64
	sinceTx  time.Duration
	sent     bool
	peerLive bool // another router advertised after our last advert
}

// decideAdoption is the rule, apart from the kernel.
func decideAdoption(c control.InstanceConfig, adoptable bool, notAdoptable string, p previousState) adoption {
	if !adoptable {
		return adoption{why: notAdoptable}
	}
	if !p.found {
		return adoption{why: "no kernel state for the instance"}
	}
	if p.hash != configHash(c) {
		return adoption{why: "instance config changed"}
	}
	switch p.state {
	case loader.StateBackup:
		return adoption{state: control.Backup, ok: true}
	case loader.StateMaster:
	default:
		return adoption{why: "was " + p.state.String()}
	}
	// The peers' Master_Down_Interval is 3 × our interval plus their
	// Skew_Time; the skew is left out, in their favour.
	limit := 3*c.AdvertInterval - adoptMargin
	switch {
	case !p.sent:
		return adoption{why: "no advert of the earlier run seen leaving"}
	case p.sinceTx >= limit:
		return adoption{why: fmt.Sprintf("last advert %v ago, the peers' Master_Down_Interval (%v) has run out", p.sinceTx.Round(time.Millisecond), 3*c.AdvertInterval)}
	case p.peerLive:
		return adoption{why: "another router advertised since our last advert"}
	}
	return adoption{state: control.Master, ok: true}
}

// adopt decides, for each instance of s, whether it resumes the earlier run's
// state, logs one line per instance, and returns the Setup.Adopt map and, for
// the instances the kernel has as Master that do not resume, why (an upgrade
// refuses to go on with any).
func (d *Daemon) adopt(s control.Setup) (map[string]control.State, []string) {
	adoptable, why := d.dp.Adoptable()
	var peers []loader.PeerStats
	if adoptable {
		var err error
		if peers, err = d.dp.Peers(); err != nil {
			d.log.Warn("adopt: reading peers", "err", err)
		}
	}
	verdicts := make([]adoption, len(s.Instances))
	prevs := make([]previousState, len(s.Instances))
	byName := map[string]int{}
	for i, c := range s.Instances {
		byName[c.Name] = i
		var p previousState
		if adoptable {
			k := c.Key
			prev, ok, err := d.dp.Previous(k)
			if err != nil {
				d.log.Warn("adopt: reading kernel state", "instance", c.Name, "err", err)
			}
			p = previousState{found: ok, state: prev.State, hash: prev.ConfigHash, sinceTx: prev.SinceTx, sent: prev.Sent}
			lastTx := time.Now().Add(-prev.SinceTx)
			for _, ps := range peers {
				if ps.Key == k && ps.Addr != c.PrimaryAddr && ps.Priority > 0 && prev.Sent && ps.LastSeen.After(lastTx) {
					p.peerLive = true
				}
			}
		}
		prevs[i], verdicts[i] = p, decideAdoption(c, adoptable, why, p)
	}
	// A sync group resumes only as a whole, in one state: entering a state
	// is the group's transition (hooks, GARP), which adoption skips.
	for _, g := range s.SyncGroups {
		var first *adoption
		whole := true
		for _, name := range g.Instances {
			i, ok := byName[name]
			if !ok {
				continue
			}
			v := &verdicts[i]
			if first == nil {
				first = v
			}
			whole = whole && v.ok && v.state == first.state
		}
		if whole {
			continue
		}
		for _, name := range g.Instances {
			if i, ok := byName[name]; ok && verdicts[i].ok {
				verdicts[i] = adoption{why: "sync group " + g.Name + " does not resume as a whole"}
			}
		}
	}
	out := map[string]control.State{}
	var unadopted []string
	for i, c := range s.Instances {
		v, p := verdicts[i], prevs[i]
		if v.ok {
			out[c.Name] = v.state
			d.log.Info("instance adopted", "instance", c.Name, "state", v.state.String(),
				"last_advert_ago", p.sinceTx.Round(time.Millisecond).String())
			continue
		}
		d.log.Info("instance starts clean", "instance", c.Name, "reason", v.why)
		if p.found && p.state == loader.StateMaster {
			unadopted = append(unadopted, c.Name+": "+v.why)
		}
	}
	return out, unadopted
}

// keepVIPs are the addresses of the adopted Masters, which the VIP manager
// takes over before it removes what else a previous run left.
func keepVIPs(s control.Setup, adopted map[string]control.State) []vip.Address {
	var out []vip.Address
	for _, c := range s.Instances {
		if adopted[c.Name] != control.Master {
			continue
		}
		for _, v := range append(append([]control.VIP{}, c.VIPs...), c.ExcludedVIPs...) {
			idx, err := ifIndex(v.Device)
			if err != nil {
				continue // AddVIPs will report it
			}
			out = append(out, vip.Address{Prefix: v.Prefix, Label: v.Label, Ifindex: idx})
		}
	}
	return out
}

// storeConfigHashes records each instance's config hash for a successor.
func (d *Daemon) storeConfigHashes(s control.Setup) {
	for _, c := range s.Instances {
		if err := d.dp.SetConfigHash(c.Key, configHash(c)); err != nil {
			d.log.Warn("storing config hash", "instance", c.Name, "err", err)
		}
	}
}
