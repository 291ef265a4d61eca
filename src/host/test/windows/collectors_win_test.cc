// The Windows collectors under wine (or Windows): the registry, ReadDirectoryChangesW and the
// hash list are real; each test changes something and polls until the alert comes (seconds).

#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "mimamori/core/hash.h"
#include "mimamori/host/system_watch.h"
#include "mimamori/host/windows_collectors.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct KeepingSink : EventSink {
  std::vector<core::Event> events;
  void emit(const core::Event& e) override { events.push_back(e); }
  void checkpoint(std::string_view, std::string_view) override {}
  std::string position(std::string_view) override { return {}; }
  std::vector<const core::Event*> alerts(uint64_t sid) const {
    std::vector<const core::Event*> out;
    for (const auto& e : events)
      if (e.alert && e.alert->signature_id == sid) out.push_back(&e);
    return out;
  }
};

// Polls `c` until an alert `sid` arrives (with `persistence.name` equal to `name`, when given:
// the C and ja_JP runs share the wine prefix's registry) or `limit` passes.
std::vector<const core::Event*> poll_until(Collector& c, KeepingSink& sink, uint64_t sid,
                                           std::string_view name = {},
                                           std::chrono::milliseconds limit = 5s) {
  auto matching = [&] {
    std::vector<const core::Event*> out;
    for (const auto* e : sink.alerts(sid))
      if (name.empty() || e->fields.find_string("persistence.name") == name) out.push_back(e);
    return out;
  };
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    c.poll(sink);
    if (!matching().empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  return matching();
}

// `japanese` where the file system can name it (wine in the C locale cannot: its Unix file
// names are in the locale's charset), else `ascii`. The ja_JP run takes the Japanese names.
std::string name_or(std::string_view japanese, std::string_view ascii) {
  static const bool ok = [] {
    fs::path probe = fs::temp_directory_path() / fs::u8path("mimamori-検証-probe");
    std::error_code ec;
    bool made = fs::create_directories(probe, ec) || fs::is_directory(probe, ec);
    fs::remove_all(probe, ec);
    return made;
  }();
  return std::string(ok ? japanese : ascii);
}

// A fresh folder under the temporary folder, with a Japanese name (UTF-8 paths end to end).
fs::path fresh_dir(std::string_view name) {
  fs::path d = fs::temp_directory_path() /
               fs::u8path(name_or("mimamori-検証-", "mimamori-") + std::string(name) + "-" +
                          std::to_string(GetCurrentProcessId()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string u8(const fs::path& p) {
  auto s = p.u8string();
  return {s.begin(), s.end()};
}

void write_file(const fs::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

// `reg.exe` as a user or an installer would run it; its exit code.
DWORD run(std::wstring cmd) {
  STARTUPINFOW si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (!CreateProcessW(nullptr, cmd.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW, nullptr,
                      nullptr, &si, &pi))
    return 9999;
  WaitForSingleObject(pi.hProcess, 20000);
  DWORD rc = 9999;
  GetExitCodeProcess(pi.hProcess, &rc);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  return rc;
}

TEST(RegistryPersistence, RunValueServiceAndTaskAddedAfterTheBaselineAreAlerts) {
  fs::path tasks = fresh_dir("tasks");
  write_file(tasks / "Existing", "<Task><Exec><Command>old.exe</Command></Exec></Task>");
  const std::wstring pid = std::to_wstring(GetCurrentProcessId());
  const std::wstring value = L"MimamoriTestRun" + pid, service = L"MimamoriTestSvc" + pid;
  const std::wstring service_key = L"SYSTEM\\CurrentControlSet\\Services\\" + service;
  const wchar_t* kRun = L"Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  auto clean = [&] {
    RegDeleteKeyValueW(HKEY_CURRENT_USER, kRun, value.c_str());
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, service_key.c_str());
  };
  clean();

  RegistryPersistence c({.interval = 3600s, .tasks_dir = u8(tasks)});
  KeepingSink sink;
  ASSERT_TRUE(c.start(sink));
  EXPECT_GT(c.entries(), 1u);
  c.poll(sink);
  EXPECT_TRUE(sink.alerts(persistence_sid::kScheduledTask).empty())
      << "the baseline itself is no news";

  // A Run value added with reg.exe: the key's change notification triggers the rescan (the
  // interval is an hour).
  ASSERT_EQ(run(L"reg.exe add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v " + value +
                L" /t REG_SZ /d \"C:\\Users\\Public\\ユーザー\\evil.exe -q\" /f"),
            0u);
  std::string value8(value.begin(), value.end()), service8(service.begin(), service.end());
  auto run_alerts = poll_until(c, sink, persistence_sid::kRunKey, value8);
  ASSERT_EQ(run_alerts.size(), 1u);
  const core::Event& a = *run_alerts[0];
  EXPECT_EQ(a.alert->category, "Persistence");
  EXPECT_EQ(a.fields.find_string("persistence.path"), "C:\\Users\\Public\\ユーザー\\evil.exe -q");
  EXPECT_EQ(a.fields.find_string("persistence.action"), "created");
  EXPECT_EQ(a.fields.find_string("persistence_kind"), "run_key");

  // A service key (what CreateService leaves), seen the same way.
  HKEY svc = nullptr;
  ASSERT_EQ(RegCreateKeyExW(HKEY_LOCAL_MACHINE, service_key.c_str(), 0, nullptr, 0, KEY_ALL_ACCESS,
                            nullptr, &svc, nullptr),
            ERROR_SUCCESS);
  const wchar_t image[] = L"C:\\ProgramData\\x\\svc.exe";
  RegSetValueExW(svc, L"ImagePath", 0, REG_EXPAND_SZ, reinterpret_cast<const BYTE*>(image),
                 sizeof image);
  RegCloseKey(svc);
  auto svc_alerts = poll_until(c, sink, persistence_sid::kWindowsService, service8);
  ASSERT_EQ(svc_alerts.size(), 1u);
  EXPECT_EQ(svc_alerts[0]->fields.find_string("persistence.path"), "C:\\ProgramData\\x\\svc.exe");

  // A task file (UTF-16 with a BOM, as the Task Scheduler writes it): found by the interval's
  // rescan (a short interval here); the Run value is in this one's baseline already.
  RegistryPersistence t({.interval = 0s, .tasks_dir = u8(tasks)});
  KeepingSink tsink;
  ASSERT_TRUE(t.start(tsink));
  std::wstring xml =
      L"\xFEFF<?xml version=\"1.0\" encoding=\"UTF-16\"?><Task><Actions><Exec>"
      L"<Command>powershell.exe</Command><Arguments>-w hidden</Arguments></Exec>"
      L"</Actions></Task>";
  write_file(tasks / "Updater",
             std::string_view(reinterpret_cast<const char*>(xml.data()), xml.size() * 2));
  auto task_alerts = poll_until(t, tsink, persistence_sid::kScheduledTask, "\\Updater");
  ASSERT_EQ(task_alerts.size(), 1u);
  EXPECT_EQ(task_alerts[0]->fields.find_string("persistence.path"), "powershell.exe -w hidden");
  for (const auto* e : tsink.alerts(persistence_sid::kRunKey))
    EXPECT_NE(e->fields.find_string("persistence.name"), value8);
  EXPECT_EQ(tsink.alerts(persistence_sid::kScheduledTask).size(), 1u);

  clean();
  fs::remove_all(tasks);
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(FolderRansomwareGuard, FilesRewrittenWithRandomBytesAreABurst) {
  fs::path dir = fresh_dir("docs");
  fs::create_directories(dir / "sub");
  std::string text(8192, 'a');
  for (int i = 0; i < 8; ++i) write_file(dir / ("report" + std::to_string(i) + ".txt"), text);
  write_file(dir / "sub" / "plan.txt", text);
  RansomwareGuard::Options o;
  o.paths = {u8(dir)};
  o.threshold = 3;
  o.window = 5000ms;
  FolderRansomwareGuard g(o);
  KeepingSink sink;
  ASSERT_TRUE(g.start(sink));
  ASSERT_EQ(g.canaries().size(), 2u);
  EXPECT_TRUE(fs::exists(dir / "0000-mimamori-canary.pdf"));
  // Ordinary edits: text stays text, and a download-like name holding noise proves nothing.
  write_file(dir / "report0.txt", text + "more text\n");
  write_file(dir / "archive.bin", random_bytes(8192, 1));
  g.poll(sink);
  std::this_thread::sleep_for(200ms);
  g.poll(sink);
  EXPECT_TRUE(sink.events.empty());

  // Encryption in place, one renamed to a new extension (and one in a subfolder: wine does not
  // report changes below the watched folder itself, Windows does).
  write_file(dir / "report1.txt", random_bytes(8192, 2));
  write_file(dir / "sub" / "plan.txt", random_bytes(8192, 3));
  write_file(dir / "report3.txt", random_bytes(8192, 5));
  write_file(dir / "report2.txt", random_bytes(8192, 4));
  fs::rename(dir / "report2.txt", dir / "report2.txt.locked");
  auto burst = poll_until(g, sink, ransomware_sid::kBurst);
  ASSERT_EQ(burst.size(), 1u);
  const core::Event& a = *burst[0];
  EXPECT_EQ(a.alert->category, "Ransomware");
  EXPECT_GE(a.fields.find("ransomware.files_changed")->as_int(), 3);
  // The writer (this test) closed its files: nobody holds them, nothing to suspend.
  EXPECT_EQ(a.fields.find_string("ransomware.response"), "alert");
  EXPECT_EQ(a.fields.find_string("ransomware.attribution"), "none");
  std::cout << "ransomware alert after "
            << a.fields.find("ransomware.decision_ms")->as_double().value_or(-1) << " ms\n";

  // A canary touched: its own alert.
  write_file(dir / "zzzz-mimamori-canary.txt", "gone");
  auto canary = poll_until(g, sink, ransomware_sid::kCanary);
  ASSERT_EQ(canary.size(), 1u);
  EXPECT_NE(canary[0]->fields.find_string("ransomware.trigger").find("canary"),
            std::string_view::npos);
  fs::remove_all(dir);
}

TEST(DownloadsCheck, AFileOnTheHashListIsAnAlertOthersAreNot) {
  fs::path dir = fresh_dir("Downloads");
  fs::path list = dir.parent_path() / ("threat-hashes-" + std::to_string(GetCurrentProcessId()));
  std::string bad = "MZ this stands for a known-bad program " + random_bytes(100, 7);
  write_file(list, "# known bad\n" + core::sha256_hex(bad) + "  # test sample\nnot-a-hash\n");
  DownloadsCheck c({.paths = {u8(dir)}, .hash_list = u8(list), .settle = 100ms});
  KeepingSink sink;
  ASSERT_TRUE(c.start(sink));
  EXPECT_EQ(c.hashes(), 1u);
  write_file(dir / "harmless.pdf", "%PDF-1.4 nothing");
  const std::string exe = name_or("請求書.exe", "invoice.exe");
  write_file(dir / fs::u8path(exe + ".crdownload"), bad);  // partial: not checked until renamed
  c.poll(sink);
  std::this_thread::sleep_for(300ms);
  c.poll(sink);
  EXPECT_TRUE(sink.events.empty());
  fs::rename(dir / fs::u8path(exe + ".crdownload"), dir / fs::u8path(exe));
  auto hits = poll_until(c, sink, system_sid::kKnownBadHash);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]->alert->category, "Malware File");
  EXPECT_EQ(hits[0]->fields.find_string("yara.sha256"), core::sha256_hex(bad));
  EXPECT_EQ(hits[0]->fields.find_string("yara.path"), u8(dir / fs::u8path(exe)));
  EXPECT_EQ(hits[0]->fields.find_string("yara.rule"), "known_bad_hash");
  fs::remove_all(dir);
  fs::remove(list);
}

}  // namespace
}  // namespace mimamori::host
