// Autostart entries of Windows (services, Run/RunOnce values, scheduled-task files) diffed
// against the baseline taken at start; a watched key that changes triggers a rescan at the next
// poll, and everything is rescanned every interval (the Tasks folder, hives loaded since).

#include <spdlog/spdlog.h>
#include <windows.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mimamori/host/windows_collectors.h"
#include "win_text.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Entry = RegistryPersistence::Entry;

constexpr const wchar_t* kRunKeys[] = {
    L"Software\\Microsoft\\Windows\\CurrentVersion\\Run",
    L"Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
    L"Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run",
    L"Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
};
constexpr const wchar_t* kServices = L"SYSTEM\\CurrentControlSet\\Services";

std::string reg_string(const BYTE* data, DWORD bytes, DWORD type) {
  if (type != REG_SZ && type != REG_EXPAND_SZ) return {};
  std::wstring_view w(reinterpret_cast<const wchar_t*>(data), bytes / sizeof(wchar_t));
  while (!w.empty() && w.back() == L'\0') w.remove_suffix(1);
  return win::narrow(w);
}

// The string values of `key` (name -> data).
void values_of(HKEY key, const std::function<void(const std::string&, const std::string&)>& f) {
  std::vector<wchar_t> name(16384);
  std::vector<BYTE> data(65536);
  for (DWORD i = 0;; ++i) {
    DWORD nlen = static_cast<DWORD>(name.size()), dlen = static_cast<DWORD>(data.size()), type = 0;
    LONG rc = RegEnumValueW(key, i, name.data(), &nlen, nullptr, &type, data.data(), &dlen);
    if (rc == ERROR_NO_MORE_ITEMS) break;
    if (rc != ERROR_SUCCESS) continue;  // a value too long: skipped
    f(win::narrow(std::wstring_view(name.data(), nlen)), reg_string(data.data(), dlen, type));
  }
}

std::vector<std::wstring> subkeys_of(HKEY key) {
  std::vector<std::wstring> out;
  wchar_t name[256];
  for (DWORD i = 0;; ++i) {
    DWORD n = 256;
    LONG rc = RegEnumKeyExW(key, i, name, &n, nullptr, nullptr, nullptr, nullptr);
    if (rc == ERROR_NO_MORE_ITEMS) break;
    if (rc == ERROR_SUCCESS) out.emplace_back(name, n);
  }
  return out;
}

// A task file's XML (UTF-16 with a BOM as Windows writes them, or UTF-8) as UTF-8.
std::string task_xml(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0xFF &&
      static_cast<unsigned char>(raw[1]) == 0xFE) {
    std::wstring w((raw.size() - 2) / 2, L'\0');
    std::memcpy(w.data(), raw.data() + 2, w.size() * 2);
    return win::narrow(w);
  }
  return raw;
}

std::string element_text(std::string_view xml, std::string_view tag) {
  std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  auto a = xml.find(open);
  if (a == std::string_view::npos) return {};
  a += open.size();
  auto b = xml.find(close, a);
  return b == std::string_view::npos ? std::string() : std::string(xml.substr(a, b - a));
}

std::string default_tasks_dir() {
  wchar_t buf[MAX_PATH] = {0};
  UINT n = GetSystemDirectoryW(buf, MAX_PATH);
  return win::narrow(std::wstring_view(buf, n)) + "\\Tasks";
}

}  // namespace

RegistryPersistence::RegistryPersistence(Options options) : options_(std::move(options)) {
  if (options_.tasks_dir.empty()) options_.tasks_dir = default_tasks_dir();
}

RegistryPersistence::~RegistryPersistence() {
  for (void* k : keys_) RegCloseKey(static_cast<HKEY>(k));
  for (void* e : events_) CloseHandle(static_cast<HANDLE>(e));
}

std::map<std::string, Entry> RegistryPersistence::scan(std::set<std::string>& roots) {
  std::map<std::string, Entry> out;
  roots = {"HKLM", options_.tasks_dir};
  auto add = [&](Entry e) {
    std::string key = fmt::format("{}|{}|{}", e.kind, e.where, e.name);
    out.emplace(std::move(key), std::move(e));
  };
  HKEY services = nullptr;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, kServices, 0, KEY_READ, &services) == ERROR_SUCCESS) {
    for (const auto& sub : subkeys_of(services)) {
      HKEY s = nullptr;
      if (RegOpenKeyExW(services, sub.c_str(), 0, KEY_QUERY_VALUE, &s) != ERROR_SUCCESS) continue;
      std::vector<BYTE> data(8192);
      DWORD len = static_cast<DWORD>(data.size()), type = 0;
      std::string image;
      if (RegQueryValueExW(s, L"ImagePath", nullptr, &type, data.data(), &len) == ERROR_SUCCESS)
        image = reg_string(data.data(), len, type);
      RegCloseKey(s);
      add({"windows_service", "HKLM", "HKLM\\SYSTEM\\CurrentControlSet\\Services", win::narrow(sub),
           image});
    }
    RegCloseKey(services);
  }
  auto run_keys = [&](HKEY hive, const std::string& hive_name) {
    roots.insert(hive_name);
    for (const wchar_t* path : kRunKeys) {
      HKEY k = nullptr;
      if (RegOpenKeyExW(hive, path, 0, KEY_READ, &k) != ERROR_SUCCESS) continue;
      std::string where = fmt::format("{}\\{}", hive_name, win::narrow(path));
      values_of(k, [&](const std::string& name, const std::string& data) {
        add({"run_key", hive_name, where, name, data});
      });
      RegCloseKey(k);
    }
  };
  run_keys(HKEY_LOCAL_MACHINE, "HKLM");
  // Each loaded user hive (HKCU is one of them); a hive loaded later is baseline when it appears.
  for (const auto& sid : subkeys_of(HKEY_USERS)) {
    if (sid.ends_with(L"_Classes")) continue;
    HKEY hive = nullptr;
    if (RegOpenKeyExW(HKEY_USERS, sid.c_str(), 0, KEY_READ, &hive) != ERROR_SUCCESS) continue;
    run_keys(hive, fmt::format("HKU\\{}", win::narrow(sid)));
    RegCloseKey(hive);
  }
  std::error_code ec;
  fs::path tasks = fs::u8path(options_.tasks_dir);
  for (fs::recursive_directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string xml = task_xml(it->path());
    std::string cmd = element_text(xml, "Command");
    std::string args = element_text(xml, "Arguments");
    if (!args.empty()) cmd.append(" ").append(args);
    auto rel = it->path().lexically_relative(tasks).u8string();
    std::string name(1, '\\');
    name.append(rel.begin(), rel.end());
    add({"scheduled_task", options_.tasks_dir, options_.tasks_dir, std::move(name), cmd});
  }
  return out;
}

void RegistryPersistence::arm() {
  for (void* k : keys_) RegCloseKey(static_cast<HKEY>(k));
  keys_.clear();
  auto watch = [&](HKEY root, const std::wstring& path, bool subtree) {
    HKEY k = nullptr;
    if (RegOpenKeyExW(root, path.c_str(), 0, KEY_NOTIFY | KEY_READ, &k) != ERROR_SUCCESS) return;
    std::size_t i = keys_.size();
    if (i == events_.size()) events_.push_back(CreateEventW(nullptr, TRUE, FALSE, nullptr));
    ResetEvent(static_cast<HANDLE>(events_[i]));
    if (RegNotifyChangeKeyValue(k, subtree, REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_LAST_SET,
                                static_cast<HANDLE>(events_[i]), TRUE) != ERROR_SUCCESS) {
      RegCloseKey(k);
      return;
    }
    keys_.push_back(k);
  };
  // The Run keys, and their parents for a Run key created (names only: quiet); the users' hives
  // for one loaded.
  auto watch_hive = [&](HKEY root, const std::wstring& prefix) {
    for (const wchar_t* p : kRunKeys) watch(root, prefix + p, false);
    watch(root, prefix + L"Software\\Microsoft\\Windows\\CurrentVersion", false);
    watch(root, prefix + L"Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion", false);
  };
  watch(HKEY_LOCAL_MACHINE, kServices, false);
  watch_hive(HKEY_LOCAL_MACHINE, L"");
  watch(HKEY_USERS, L"", false);
  for (const auto& sid : subkeys_of(HKEY_USERS))
    if (!sid.ends_with(L"_Classes")) watch_hive(HKEY_USERS, sid + L"\\");
}

core::Status RegistryPersistence::start(EventSink&) {
  snapshot_ = scan(roots_);
  arm();
  last_scan_ = std::chrono::steady_clock::now();
  spdlog::info("persistence: baseline of {} services, run values and tasks; {} keys watched",
               snapshot_.size(), keys_.size());
  return {};
}

void RegistryPersistence::poll(EventSink& sink) {
  bool changed = false;
  for (std::size_t i = 0; i < keys_.size(); ++i)
    changed |= WaitForSingleObject(static_cast<HANDLE>(events_[i]), 0) == WAIT_OBJECT_0;
  auto now = std::chrono::steady_clock::now();
  if (!changed && now - last_scan_ < options_.interval) return;
  last_scan_ = now;
  std::set<std::string> roots;
  auto next = scan(roots);
  for (const auto& [k, e] : next) {
    auto old = snapshot_.find(k);
    if (old != snapshot_.end() && old->second.value == e.value) continue;
    if (old == snapshot_.end() && !roots_.count(e.root)) continue;  // a hive just loaded
    core::Event ev = host_event(core::event_type::kPersistence);
    ev.fields.begin_object("persistence")
        .add("path", e.value)
        .add("action", old == snapshot_.end() ? "created" : "modified");
    if (old != snapshot_.end()) ev.fields.add("path_before", old->second.value);
    ev.fields.add("name", e.name)
        .add("key", e.where)
        .add("source", e.kind == "scheduled_task" ? "tasks_folder" : "registry")
        .end()
        .add("persistence_kind", e.kind);
    sink.emit(ev);
    uint64_t sid = e.kind == "run_key"           ? persistence_sid::kRunKey
                   : e.kind == "windows_service" ? persistence_sid::kWindowsService
                                                 : persistence_sid::kScheduledTask;
    std::string sig = e.kind == "run_key"           ? "Run key value added or changed"
                      : e.kind == "windows_service" ? "Windows service added or changed"
                                                    : "Scheduled task added or changed";
    make_alert(ev, sid, sig, "Persistence", 2);
    sink.emit(ev);
    spdlog::info("persistence: {} '{}' in {}: {}", e.kind, e.name, e.where, e.value);
  }
  snapshot_ = std::move(next);
  roots_ = std::move(roots);
  arm();  // notifications fire once; hives may have come or gone
}

}  // namespace mimamori::host
