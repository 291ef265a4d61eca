// Brute force and persistence from Windows event-log records (see event_log_watch.h).

#include "mimamori/host/event_log_watch.h"

#include <fmt/format.h>

#include "mimamori/core/clock.h"
#include "mimamori/host/collector.h"

namespace mimamori::host {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string_view field(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return v;
  return {};
}

// "-", "" and loopback are no remote address.
std::string remote_address(std::string_view ip) {
  if (ip.starts_with("::ffff:")) ip.remove_prefix(7);
  if (ip.empty() || ip == "-" || ip == "::1" || ip == "127.0.0.1") return {};
  return std::string(ip);
}

// The text between <tag> and </tag> in `xml` (a task's XML), or empty.
std::string element_text(std::string_view xml, std::string_view tag) {
  std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  auto a = xml.find(open);
  if (a == std::string_view::npos) return {};
  a += open.size();
  auto b = xml.find(close, a);
  if (b == std::string_view::npos) return {};
  return std::string(xml.substr(a, b - a));
}

}  // namespace

std::optional<AuthRecord> windows_logon_record(const Fields& f) {
  std::string_view id = field(f, "EventID");
  if (id != "4624" && id != "4625" && id != "4776") return std::nullopt;
  if (field(f, "Channel") != "Security") return std::nullopt;
  AuthRecord r;
  r.time = core::now();
  if (auto t = core::parse_time(field(f, "TimeCreated_SystemTime"))) r.time = *t;
  r.user = field(f, "TargetUserName");
  if (id == "4776") {
    // The credential validation of NTLM: Status 0x0 is success; no address, only the client.
    r.service = "NTLM";
    r.src_host = field(f, "Workstation");
    if (r.src_host.empty() || r.src_host == "-") return std::nullopt;
    std::string_view status = field(f, "Status");
    r.kind = status == "0x0" || status == "0" ? AuthRecord::Kind::kLoginSuccess
                                              : AuthRecord::Kind::kLoginFailure;
    r.method = "ntlm";
    r.message = fmt::format("credential validation, status {}", status);
    return r;
  }
  std::string_view type = field(f, "LogonType");
  if (type == "10")
    r.service = "RDP";
  else if (type == "3")
    r.service = "Network";
  else
    return std::nullopt;
  r.src_ip = remote_address(field(f, "IpAddress"));
  r.src_host = field(f, "WorkstationName");
  if (r.src_host == "-") r.src_host.clear();
  if (r.src_ip.empty()) {
    r.src_host.clear();  // a local or anonymous network logon: not an attack from somewhere
    return std::nullopt;
  }
  r.kind = id == "4625" ? AuthRecord::Kind::kLoginFailure : AuthRecord::Kind::kLoginSuccess;
  r.method = std::string(field(f, "AuthenticationPackageName"));
  r.message = id == "4625" ? fmt::format("logon type {}, status {}", type, field(f, "SubStatus"))
                           : fmt::format("logon type {}", type);
  return r;
}

void EventLogWatch::on_record(const EventLogRecord& record, const Fields& f, EventSink& sink) {
  std::string_view id = field(f, "EventID");
  if (options_.brute_force && (id == "4624" || id == "4625" || (options_.ntlm && id == "4776"))) {
    if (auto r = windows_logon_record(f)) {
      scratch_.clear();
      tracker_.feed(*r, scratch_);
      for (const auto& e : scratch_) sink.emit(e);
    }
    return;
  }
  if (!options_.persistence) return;
  bool service = id == "7045" && field(f, "Channel") == "System";
  bool task = id == "4698" && field(f, "Channel") == "Security";
  if (!service && !task) return;
  core::Event e = host_event(core::event_type::kPersistence);
  if (auto t = core::parse_time(field(f, "TimeCreated_SystemTime"))) e.timestamp = *t;
  e.fields.begin_object("persistence");
  if (service) {
    e.fields.add("path", field(f, "ImagePath"))
        .add("action", "created")
        .add("name", field(f, "ServiceName"))
        .add("start_type", field(f, "StartType"))
        .add("account", field(f, "AccountName"));
  } else {
    std::string_view content = field(f, "TaskContent");
    e.fields.add("path", element_text(content, "Command"))
        .add("action", "created")
        .add("name", field(f, "TaskName"))
        .add("arguments", element_text(content, "Arguments"))
        .add("account", field(f, "SubjectUserName"));
  }
  e.fields.add("source", "eventlog")
      .add("record_id", record.record_id)
      .end()
      .add("persistence_kind", service ? "windows_service" : "scheduled_task");
  sink.emit(e);
  if (service)
    make_alert(e, persistence_sid::kWindowsService, "Windows service installed (7045)",
               "Persistence", 2);
  else
    make_alert(e, persistence_sid::kScheduledTask, "Scheduled task created (4698)", "Persistence",
               2);
  sink.emit(e);
}

}  // namespace mimamori::host
