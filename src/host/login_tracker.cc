// Brute force and success-after-failures over logins, whatever the platform that saw them.

#include "mimamori/host/login_tracker.h"

#include <fmt/format.h>

#include "mimamori/core/ip_address.h"
#include "mimamori/host/collector.h"

namespace mimamori::host {
namespace {

using Kind = AuthRecord::Kind;

// "SSH" for sshd (the Linux agent's signatures, unchanged); RDP, SMB, NTLM as they are.
std::string protocol_of(const std::string& service) { return service == "sshd" ? "SSH" : service; }

}  // namespace

void LoginTracker::feed(const AuthRecord& r, std::vector<core::Event>& out) {
  if (r.kind != Kind::kLoginFailure && r.kind != Kind::kLoginSuccess) return;
  std::string key = !r.src_ip.empty() ? r.src_ip : !r.src_host.empty() ? "host:" + r.src_host : "";
  if (key.empty()) return;
  Source& s = by_source_[key];
  int64_t t = r.time.seconds();
  auto alert = [&](uint64_t sid, std::string_view sig, int severity, uint64_t failures) {
    core::Event e = host_event(core::event_type::kAuth);
    e.timestamp = r.time;
    if (auto ip = core::IpAddress::parse(r.src_ip)) e.src_ip = *ip;
    e.fields.begin_object("auth").add("service", r.service).add("user", r.user);
    if (!r.src_host.empty()) e.fields.add("src_host", r.src_host);
    e.fields.add("failures", failures).add("window_s", window_).end();
    make_alert(e, sid, sig, "Attempted Administrator Privilege Gain", severity);
    out.push_back(std::move(e));
  };
  std::string proto = protocol_of(r.service);
  if (r.kind == Kind::kLoginFailure) {
    s.failures.push_back(t);
    ++s.total;
    while (!s.failures.empty() && s.failures.front() <= t - window_) s.failures.pop_front();
    if (s.failures.size() >= limit_ && t >= s.alerted_until) {
      alert(auth_sid::kBruteForce,
            fmt::format("{} brute force: many failed logins from one address", proto), 2,
            s.failures.size());
      s.alerted_until = t + window_;
    }
  } else {
    if (s.total >= limit_) {
      alert(auth_sid::kSuccessAfterFailures,
            fmt::format("{} login succeeded after many failures from the same address", proto), 1,
            s.total);
    }
    s.total = 0;
    s.failures.clear();
  }
  if (by_source_.size() > 10000) by_source_.clear();  // bounded: a flood of sources resets
}

}  // namespace mimamori::host
