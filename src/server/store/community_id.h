// Community ID v1 (Corelight's community-id-spec, the `community_id` of Suricata's EVE): a
// flow's name derived from its endpoints, the same in every tool that sees the flow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/core/ip_address.h"

namespace mimamori::server {

/// "1:" + base64(SHA-1(seed, addresses, IP protocol, 0, ports)), the endpoints in the spec's
/// canonical order (the smaller address, or the smaller port at equal addresses, first). Empty
/// when the addresses are empty or of different families.
std::string community_id_v1(const core::IpAddress& src, const core::IpAddress& dst, uint8_t proto,
                            uint16_t src_port, uint16_t dst_port, uint16_t seed = 0);

/// The Community ID (seed 0) that an EVE record's own top-level `src_ip`, `dest_ip`,
/// `src_port`, `dest_port` and `proto` (TCP, UDP or SCTP) give, as Suricata writes them; empty
/// when the record lacks one of them or has another protocol.
std::string eve_community_id(std::string_view record);

}  // namespace mimamori::server
