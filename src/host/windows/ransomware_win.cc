// Ransomware on Windows: ReadDirectoryChangesW on user folders (no driver, so the writer is not
// in the notification), the Linux guard's content heuristics on each written file, canaries,
// and a response when the Restart Manager names processes holding the written files open.

#include <windows.h>
// After windows.h:
#include <restartmanager.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dir_watch.h"
#include "mimamori/host/windows_collectors.h"
#include "win_text.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kHead = 4096;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The first bytes of a file, opened so as not to disturb the writer; empty if it cannot be read.
std::string read_head(const std::string& path) {
  HANDLE h = CreateFileW(win::widen(path).c_str(), GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return {};
  std::string out(kHead, '\0');
  DWORD n = 0;
  if (!ReadFile(h, out.data(), static_cast<DWORD>(out.size()), &n, nullptr)) n = 0;
  CloseHandle(h);
  out.resize(n);
  return out;
}

struct Writer {
  DWORD pid = 0;
  std::string exe;
};

// Processes that hold any of `files` open now (Restart Manager), this process left out.
std::vector<Writer> holders_of(const std::vector<std::string>& files) {
  std::vector<Writer> out;
  DWORD session = 0;
  WCHAR key[CCH_RM_SESSION_KEY + 1] = {0};
  if (RmStartSession(&session, 0, key) != ERROR_SUCCESS) return out;
  std::vector<std::wstring> wide;
  for (const auto& f : files) wide.push_back(win::widen(f));
  std::vector<LPCWSTR> names;
  for (const auto& w : wide) names.push_back(w.c_str());
  if (RmRegisterResources(session, static_cast<UINT>(names.size()), names.data(), 0, nullptr, 0,
                          nullptr) == ERROR_SUCCESS) {
    UINT need = 0, have = 16;
    std::vector<RM_PROCESS_INFO> info(have);
    DWORD reasons = 0;
    DWORD rc = RmGetList(session, &need, &have, info.data(), &reasons);
    if (rc == ERROR_MORE_DATA) {
      have = need;
      info.resize(have);
      rc = RmGetList(session, &need, &have, info.data(), &reasons);
    }
    if (rc == ERROR_SUCCESS) {
      for (UINT i = 0; i < have; ++i) {
        DWORD pid = info[i].Process.dwProcessId;
        if (pid == GetCurrentProcessId() || pid <= 4) continue;
        Writer w{pid, {}};
        if (HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) {
          wchar_t buf[MAX_PATH * 2];
          DWORD n = MAX_PATH * 2;
          if (QueryFullProcessImageNameW(p, 0, buf, &n)) w.exe = win::narrow({buf, n});
          CloseHandle(p);
        }
        out.push_back(std::move(w));
      }
    }
  }
  RmEndSession(session);
  return out;
}

// True for a program under the Windows folder (C:\Windows\...), or one whose path is unknown.
bool in_windows_folder(const std::string& exe) {
  static const std::string windows = [] {
    wchar_t buf[MAX_PATH] = {0};
    UINT n = GetWindowsDirectoryW(buf, MAX_PATH);
    return lower(win::narrow(std::wstring_view(buf, n))) + "\\";
  }();
  return exe.empty() || lower(exe).starts_with(windows);
}

bool suspend(DWORD pid) {
  using Fn = LONG(NTAPI*)(HANDLE);
  static auto fn = reinterpret_cast<Fn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtSuspendProcess")));
  if (!fn) return false;
  HANDLE p = OpenProcess(PROCESS_SUSPEND_RESUME, FALSE, pid);
  if (!p) return false;
  bool ok = fn(p) >= 0;
  CloseHandle(p);
  return ok;
}

bool terminate(DWORD pid) {
  HANDLE p = OpenProcess(PROCESS_TERMINATE, FALSE, pid);
  if (!p) return false;
  bool ok = TerminateProcess(p, 1);
  CloseHandle(p);
  return ok;
}

}  // namespace

FolderRansomwareGuard::FolderRansomwareGuard(RansomwareGuard::Options options)
    : options_(std::move(options)) {}

FolderRansomwareGuard::~FolderRansomwareGuard() = default;

core::Status FolderRansomwareGuard::start(EventSink&) {
  static constexpr std::string_view kPdf =
      "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages "
      "/Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
  for (const auto& root : options_.paths) {
    std::error_code ec;
    if (!fs::is_directory(fs::u8path(root), ec)) {
      spdlog::warn("ransomware: '{}' is not a folder; left out", root);
      continue;
    }
    std::string dir = root;
    while (dir.size() > 3 && (dir.back() == '\\' || dir.back() == '/')) dir.pop_back();
    // The canaries first, so that their creation is not among the changes watched.
    if (options_.canaries) {
      for (auto [name, content] :
           {std::pair<std::string_view, std::string_view>{"0000-mimamori-canary.pdf", kPdf},
            {"zzzz-mimamori-canary.txt",
             "This file is watched by mimamori-agent to detect ransomware. Please leave it.\n"}}) {
        std::string p = dir + "\\" + std::string(name);
        if (!fs::exists(fs::u8path(p), ec)) {
          std::ofstream out(fs::u8path(p), std::ios::binary);
          out << content;
        }
        canary_set_.insert(lower(p));
        canary_paths_.push_back(p);
      }
    }
    auto w = DirWatch::open(dir, true);
    if (!w) {
      spdlog::warn("ransomware: {}; left out", w.error().message);
      continue;
    }
    watches_.emplace_back(dir, std::move(*w));
  }
  if (watches_.empty()) return core::make_error("ransomware: no folder could be watched");
  spdlog::info("ransomware: watching {} folders, {} canaries", watches_.size(),
               canary_paths_.size());
  return {};
}

void FolderRansomwareGuard::poll(EventSink& sink) {
  for (auto& [root, w] : watches_) {
    const std::string& r = root;
    w->drain(
        [&](unsigned long action, const std::string& path) { on_change(action, r, path, sink); });
  }
  // Forget quiet folders.
  auto now = Clock::now();
  for (auto it = bursts_.begin(); it != bursts_.end();) {
    bool quiet =
        it->second.writes.empty() || now - it->second.writes.back().first > std::chrono::minutes(5);
    it = quiet ? bursts_.erase(it) : std::next(it);
  }
}

void FolderRansomwareGuard::on_change(unsigned long action, const std::string& root,
                                      const std::string& path, EventSink& sink) {
  spdlog::debug("ransomware: change {} '{}'", action, path);
  if (action == 0) return;  // lost changes: nothing to judge
  Burst& b = bursts_[root];
  auto now = Clock::now();
  if (canary_set_.count(lower(path))) {
    if (!b.count) b.first = now;
    ++b.count;
    b.writes.emplace_back(now, path);
    std::string_view what = action == FILE_ACTION_REMOVED            ? "deleted"
                            : action == FILE_ACTION_RENAMED_OLD_NAME ? "renamed"
                                                                     : "written";
    act(b, true, fmt::format("canary {}", what), sink);
    return;
  }
  if (action != FILE_ACTION_ADDED && action != FILE_ACTION_MODIFIED &&
      action != FILE_ACTION_RENAMED_NEW_NAME)
    return;
  std::string head = read_head(path);
  WriteVerdict v = judge_write(path, head);
  if (!v.suspicious) return;
  // One file notified several times (size, then last write) counts once.
  for (const auto& [t, p] : b.writes)
    if (p == path && now - t < options_.window) return;
  if (!b.count) b.first = now;
  ++b.count;
  b.writes.emplace_back(now, path);
  while (!b.writes.empty() && now - b.writes.front().first > options_.window)
    b.writes.erase(b.writes.begin());
  if (b.writes.size() >= options_.threshold)
    act(b, false,
        fmt::format("{} files rewritten into encrypted-looking content within {} ms ({} -> {}, "
                    "entropy {:.2f})",
                    b.writes.size(), options_.window.count(), content_type_name(v.expected),
                    content_type_name(v.found), v.entropy),
        sink);
}

void FolderRansomwareGuard::act(Burst& b, bool canary, const std::string& trigger,
                                EventSink& sink) {
  auto now = Clock::now();
  // One alert of each kind per folder per window: the burst goes on, the alert has been given.
  Clock::time_point& last = b.acted[canary ? 1 : 0];
  if (last != Clock::time_point{} &&
      now - last < std::max<Clock::duration>(options_.window, std::chrono::seconds(5)))
    return;
  last = now;
  std::vector<std::string> files;
  for (const auto& [t, p] : b.writes) files.push_back(p);
  // The writer: whoever holds the files open now (a process that wrote and closed is gone from
  // this list; ReadDirectoryChangesW never names the writer).
  std::vector<Writer> holders = holders_of(files);
  std::string response = "alert";
  for (const auto& w : holders) {
    bool allowed = std::find(options_.allow_exe.begin(), options_.allow_exe.end(), w.exe) !=
                   options_.allow_exe.end();
    // Windows' own programs (the indexer, Defender, Explorer) open new files too: never acted on.
    if (allowed || in_windows_folder(w.exe)) continue;
    if (options_.response == RansomwareResponse::kStop && suspend(w.pid))
      response = "stopped";
    else if (options_.response == RansomwareResponse::kKill && terminate(w.pid))
      response = "killed";
  }
  core::Event e = host_event(core::event_type::kRansomware);
  e.fields.begin_object("ransomware")
      .add("trigger", trigger)
      .add("canary", canary)
      .add("files_changed", b.count)
      .add("decision_ms", std::chrono::duration<double, std::milli>(now - b.first).count())
      .add("response", response)
      .add("attribution", holders.empty() ? "none" : "restart_manager");
  e.fields.begin_array("files");
  for (const auto& f : files) e.fields.add("", f);
  e.fields.end();
  const Writer* w = holders.empty() ? nullptr : &holders.front();
  std::string exe = w ? w->exe : std::string();
  e.fields.begin_object("process")
      .add("pid", static_cast<uint64_t>(w ? w->pid : 0))
      .add("name", exe.substr(exe.find_last_of('\\') + 1))
      .add("exe", exe)
      .end()
      .end();
  make_ransomware_alert(e, canary);
  spdlog::warn("ransomware: {}: {} files, {} holder(s), response {}", trigger, b.count,
               holders.size(), response);
  sink.emit(e);
}

}  // namespace mimamori::host
