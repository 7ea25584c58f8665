package loader

//go:generate go tool bpf2go -tags linux -target bpfel -type instance_key -type instance_cfg -type instance_state -type peer_key -type peer_stats -type drop_key -type tx_stats -type vip_key -type vip_lease -type adv_addr_key -type no_accept_val -type no_accept_set -type event -type drop_reason -type vrrp_state -type event_type vrrp ../bpf/vrrp.c -- -I../bpf/include -I/usr/include/x86_64-linux-gnu -Wall -Werror -mcpu=v3
