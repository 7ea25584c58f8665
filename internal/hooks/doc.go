// Package hooks runs what control's trackers and notifications ask of the outside
// world: checks (a script or command, an HTTP GET, a TCP connect, a number in a
// file, the number of matching processes in /proc) implementing control.Check,
// and notify hooks run as processes (ExecNotifier, a control.Notifier). Commands
// run in their own process group, killed as a whole at their timeout, so a
// script's children cannot outlive it.
package hooks
