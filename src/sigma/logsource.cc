// Windows log sources: which channel and event IDs a Sigma logsource stands for, and the field
// names of Security 4688 for rules written against Sysmon process creation.

#include <unordered_map>

#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

constexpr const char* kSysmon = "Microsoft-Windows-Sysmon/Operational";

struct Entry {
  std::vector<std::pair<const char*, std::vector<std::string>>> targets;
};

const std::unordered_map<std::string, std::vector<std::string>>& service_channels() {
  static const std::unordered_map<std::string, std::vector<std::string>> kMap = {
      {"security", {"Security"}},
      {"system", {"System"}},
      {"application", {"Application"}},
      {"sysmon", {kSysmon}},
      {"powershell", {"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"}},
      {"powershell-classic", {"Windows PowerShell"}},
      {"windefend", {"Microsoft-Windows-Windows Defender/Operational"}},
      {"taskscheduler", {"Microsoft-Windows-TaskScheduler/Operational"}},
      {"wmi", {"Microsoft-Windows-WMI-Activity/Operational"}},
      {"dns-server", {"DNS Server"}},
      {"dns-server-analytic", {"Microsoft-Windows-DNS-Server/Analytical"}},
      {"dns-client", {"Microsoft-Windows-DNS Client Events/Operational"}},
      {"driver-framework", {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"}},
      {"ntlm", {"Microsoft-Windows-NTLM/Operational"}},
      {"codeintegrity-operational", {"Microsoft-Windows-CodeIntegrity/Operational"}},
      {"firewall-as", {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"}},
      {"bits-client", {"Microsoft-Windows-Bits-Client/Operational"}},
      {"applocker",
       {"Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution"}},
      {"msexchange-management", {"MSExchange Management"}},
      {"printservice-admin", {"Microsoft-Windows-PrintService/Admin"}},
      {"printservice-operational", {"Microsoft-Windows-PrintService/Operational"}},
      {"smbclient-security", {"Microsoft-Windows-SmbClient/Security"}},
      {"smbclient-connectivity", {"Microsoft-Windows-SmbClient/Connectivity"}},
      {"appxdeployment-server", {"Microsoft-Windows-AppXDeploymentServer/Operational"}},
      {"appxpackaging-om", {"Microsoft-Windows-AppxPackaging/Operational"}},
      {"appmodel-runtime", {"Microsoft-Windows-AppModel-Runtime/Admin"}},
      {"capi2", {"Microsoft-Windows-CAPI2/Operational"}},
      {"certificateservicesclient-lifecycle-system",
       {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"}},
      {"diagnosis-scripted", {"Microsoft-Windows-Diagnosis-Scripted/Operational"}},
      {"lsa-server", {"Microsoft-Windows-LSA/Operational"}},
      {"openssh", {"OpenSSH/Operational"}},
      {"shell-core", {"Microsoft-Windows-Shell-Core/Operational"}},
      {"terminalservices-localsessionmanager",
       {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"}},
      {"vhdmp", {"Microsoft-Windows-VHDMP-Operational"}},
      {"iis-configuration", {"Microsoft-IIS-Configuration/Operational"}},
      {"ldap", {"Microsoft-Windows-LDAP-Client/Debug"}},
      {"security-mitigations",
       {"Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode"}},
      {"hyper-v-worker", {"Microsoft-Windows-Hyper-V-Worker"}},
      {"kernel-shimengine", {"Microsoft-Windows-Kernel-ShimEngine/Operational"}},
      {"dhcp", {"Microsoft-Windows-DHCP-Server/Operational"}},
      {"bitlocker", {"Microsoft-Windows-BitLocker/BitLocker Management"}},
      {"ntfs", {"Microsoft-Windows-Ntfs/Operational"}},
      {"microsoft-servicebus-client", {"Microsoft-ServiceBus-Client"}},
      {"sysmon-operational", {kSysmon}},
  };
  return kMap;
}

const std::unordered_map<std::string, Entry>& categories() {
  static const std::unordered_map<std::string, Entry> kMap = {
      {"process_creation", {{{kSysmon, {"1"}}, {"Security", {"4688"}}}}},
      {"network_connection", {{{kSysmon, {"3"}}}}},
      {"sysmon_status", {{{kSysmon, {"4", "16"}}}}},
      {"process_termination", {{{kSysmon, {"5"}}}}},
      {"driver_load", {{{kSysmon, {"6"}}}}},
      {"image_load", {{{kSysmon, {"7"}}}}},
      {"create_remote_thread", {{{kSysmon, {"8"}}}}},
      {"raw_access_thread", {{{kSysmon, {"9"}}}}},
      {"raw_access_read", {{{kSysmon, {"9"}}}}},
      {"process_access", {{{kSysmon, {"10"}}}}},
      {"file_event", {{{kSysmon, {"11"}}}}},
      {"file_creation", {{{kSysmon, {"11"}}}}},
      {"file_change", {{{kSysmon, {"2"}}}}},
      {"registry_add", {{{kSysmon, {"12"}}}}},
      {"registry_delete", {{{kSysmon, {"12"}}}}},
      {"registry_set", {{{kSysmon, {"13"}}}}},
      {"registry_rename", {{{kSysmon, {"14"}}}}},
      {"registry_event", {{{kSysmon, {"12", "13", "14"}}}}},
      {"create_stream_hash", {{{kSysmon, {"15"}}}}},
      {"pipe_created", {{{kSysmon, {"17", "18"}}}}},
      {"wmi_event", {{{kSysmon, {"19", "20", "21"}}}}},
      {"dns_query", {{{kSysmon, {"22"}}}}},
      {"file_delete", {{{kSysmon, {"23", "26"}}}}},
      {"clipboard_capture", {{{kSysmon, {"24"}}}}},
      {"process_tampering", {{{kSysmon, {"25"}}}}},
      {"file_delete_detected", {{{kSysmon, {"26"}}}}},
      {"file_block_executable", {{{kSysmon, {"27"}}}}},
      {"file_block_shredding", {{{kSysmon, {"28"}}}}},
      {"file_executable_detected", {{{kSysmon, {"29"}}}}},
      {"sysmon_error", {{{kSysmon, {"255"}}}}},
      {"ps_module",
       {{{"Microsoft-Windows-PowerShell/Operational", {"4103"}},
         {"PowerShellCore/Operational", {"4103"}}}}},
      {"ps_script",
       {{{"Microsoft-Windows-PowerShell/Operational", {"4104"}},
         {"PowerShellCore/Operational", {"4104"}}}}},
      {"ps_classic_start", {{{"Windows PowerShell", {"400"}}}}},
      {"ps_classic_provider_start", {{{"Windows PowerShell", {"600"}}}}},
      {"ps_classic_script", {{{"Windows PowerShell", {"800"}}}}},
      {"antivirus",
       {{{"Microsoft-Windows-Windows Defender/Operational",
          {"1006", "1007", "1008", "1009", "1010", "1011", "1012", "1015", "1116", "1117", "1118",
           "1119"}}}}},
  };
  return kMap;
}

}  // namespace

std::vector<LogTarget> map_logsource(const std::string& product, const std::string& category,
                                     const std::string& service, bool& known) {
  std::vector<LogTarget> out;
  known = false;
  if (!product.empty() && product != "windows") return out;
  if (!category.empty()) {
    auto it = categories().find(category);
    if (it == categories().end()) return out;
    known = true;
    for (const auto& [channel, ids] : it->second.targets) {
      LogTarget t;
      t.channel = channel;
      t.event_ids = ids;
      t.security_4688 = category == "process_creation" && std::string_view(channel) == "Security";
      out.push_back(std::move(t));
    }
    // A service narrows the category's channels (e.g. category + service: sysmon).
    if (!service.empty()) {
      auto s = service_channels().find(service);
      if (s != service_channels().end()) {
        std::vector<LogTarget> kept;
        for (auto& t : out)
          for (const auto& ch : s->second)
            if (t.channel == ch) kept.push_back(t);
        if (!kept.empty()) out = std::move(kept);
      }
    }
    return out;
  }
  if (!service.empty()) {
    auto s = service_channels().find(service);
    if (s == service_channels().end()) return out;
    known = true;
    for (const auto& ch : s->second) out.push_back(LogTarget{ch, {}, false});
  }
  return out;
}

std::string rename_for_4688(const std::string& field) {
  static const std::unordered_map<std::string, std::string> kMap = {
      {"Image", "NewProcessName"},          {"ParentImage", "ParentProcessName"},
      {"ProcessId", "NewProcessId"},        {"ParentProcessId", "ProcessId"},
      {"User", "SubjectUserName"},          {"LogonId", "SubjectLogonId"},
      {"IntegrityLevel", "MandatoryLabel"},
  };
  auto it = kMap.find(field);
  return it == kMap.end() ? field : it->second;
}

}  // namespace mimamori::sigma
