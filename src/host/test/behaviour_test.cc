// Units of the behaviour collector: group(5) and /proc/modules parsing, the memory of recent
// processes (a short-lived actor named after it exited, package managers in the lineage), and
// the collector itself on a folder of its own (real fanotify, acts by child processes; root
// only) and on a /proc/modules file that gains a module.

#include "mimamori/host/behaviour.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "mimamori/core/eve.h"
#include "mimamori/host/process_memory.h"
#include "mimamori/host/process_watch.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

class MemorySink : public EventSink {
 public:
  void emit(const core::Event& e) override {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  void checkpoint(std::string_view, std::string_view) override {}
  std::string position(std::string_view) override { return {}; }
  std::vector<core::Event> alerts(uint64_t sid) {
    std::lock_guard lock(mu);
    std::vector<core::Event> out;
    for (const auto& e : events)
      if (e.alert && e.alert->signature_id == sid) out.push_back(e);
    return out;
  }
  std::mutex mu;
  std::vector<core::Event> events;
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
}

TEST(GroupMembers, AdminGroupsOnlyAndOddLines) {
  auto g = group_members(
      "root:x:0:\nsudo:x:27:alice,bob\nusers:x:100:carol\nwheel:x:10:\n"
      "broken line without colons\nadmin:x:4: dave , \r\n",
      {"sudo", "wheel", "admin", "missing"});
  EXPECT_EQ(g["sudo"], (std::set<std::string>{"alice", "bob"}));
  EXPECT_TRUE(g["wheel"].empty());
  EXPECT_EQ(g["admin"], (std::set<std::string>{" dave"}));
  EXPECT_TRUE(g["missing"].empty());
  EXPECT_FALSE(g.count("users"));
  EXPECT_TRUE(group_members("", {"sudo"})["sudo"].empty());
}

TEST(ModuleNames, FirstWordOfEachLine) {
  auto m = module_names(
      "nf_tables 339968 0 - Live 0x0000000000000000\nrootkit 16384 0 - Live 0x0 (OE)\n\n");
  EXPECT_EQ(m, (std::set<std::string>{"nf_tables", "rootkit"}));
  EXPECT_TRUE(module_names("").empty());
}

// A pid that no process has (above the kernel's limit).
constexpr int kGonePid = 1 << 30;

TEST(ProcessMemory, NamesAnExitedProcessAndItsPackageManager) {
  EXPECT_FALSE(recall_process(kGonePid));
  ProcessInfo dpkg;
  dpkg.pid = kGonePid + 1;
  dpkg.ppid = 1;
  dpkg.exe = "/usr/bin/dpkg";
  dpkg.cmdline = "dpkg -i tool.deb";
  ProcessInfo script;
  script.pid = kGonePid;
  script.ppid = kGonePid + 1;
  script.uid = 0;
  script.user = "root";
  script.exe = "/usr/bin/dash";
  script.cmdline = "/bin/sh /var/lib/dpkg/info/tool.postinst configure";
  remember_process(dpkg);
  remember_process(script);
  auto p = recall_process(kGonePid);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->exe, "/usr/bin/dash");
  EXPECT_EQ(p->user, "root");
  auto lineage = process_lineage(kGonePid);
  ASSERT_EQ(lineage.size(), 2u);
  EXPECT_EQ(lineage[1].exe, "/usr/bin/dpkg");
  EXPECT_EQ(package_manager_at_work(lineage), "dpkg");
  EXPECT_TRUE(lineage_runs(lineage, "dpkg"));
  EXPECT_FALSE(lineage_runs(lineage, "logrotate"));
  // A known actor outside a package manager is not excused by one running elsewhere.
  ProcessInfo other;
  other.pid = kGonePid + 2;
  other.ppid = 1;
  other.exe = "/usr/bin/tee";
  remember_process(other);
  EXPECT_EQ(package_manager_at_work(process_lineage(kGonePid + 2)), "");
  // An unknown actor while dpkg ran moments ago: taken as dpkg's.
  EXPECT_EQ(package_manager_at_work({}), "dpkg");
  auto insmod = recent_process_named({"insmod"}, std::chrono::seconds(30));
  EXPECT_FALSE(insmod);
  ProcessInfo ins;
  ins.pid = kGonePid + 3;
  ins.exe = "/usr/bin/kmod";
  ins.cmdline = "insmod ./x.ko";
  remember_process(ins);
  insmod = recent_process_named({"insmod"}, std::chrono::seconds(30));
  ASSERT_TRUE(insmod);
  EXPECT_EQ(insmod->pid, kGonePid + 3);
}

TEST(Behaviour, NewKernelModuleInProcModules) {
  auto dir = fs::temp_directory_path() / ("mimamori-modules-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "modules", "ext4 1 0 - Live 0x0\n");
  Behaviour::Options o;
  o.proc_modules = (dir / "modules").string();
  o.poll_interval = std::chrono::milliseconds(0);
  Behaviour b(o);
  MemorySink sink;
  ASSERT_TRUE(b.start(sink));
  b.poll(sink);  // the baseline
  write(dir / "modules", "ext4 1 0 - Live 0x0\ndiamorphine 16384 0 - Live 0x0 (OE)\n");
  b.poll(sink);
  b.poll(sink);
  b.stop();
  auto a = sink.alerts(behaviour_sid::kModule);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].fields.find_string("module.name"), "diamorphine");
  EXPECT_EQ(a[0].alert->severity, 2);
  fs::remove_all(dir);
}

// The file acts, each by a child process, on a folder laid out like the system's.
TEST(Behaviour, FileActsByOtherProcesses) {
  if (::geteuid() != 0) GTEST_SKIP() << "fanotify needs root";
  auto root = fs::temp_directory_path() / ("mimamori-behaviour-" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (auto d : {"etc/sudoers.d", "log", "home/bob", "drop"}) fs::create_directories(root / d);
  write(root / "etc/sudoers", "root ALL=(ALL:ALL) ALL\n");
  write(root / "etc/group", "root:x:0:\nsudo:x:27:\nbob:x:1000:\n");
  write(root / "log/auth.log", "line one\nline two\n");
  write(root / "home/bob/.bash_history", "ls\n");
  write(root / "agent.yaml", "agent: {}\n");
  Behaviour::Options o;
  o.sudoers = (root / "etc/sudoers").string();
  o.sudoers_dir = (root / "etc/sudoers.d").string();
  o.group_file = (root / "etc/group").string();
  o.suid_paths = {(root / "drop").string()};
  o.logs = {(root / "log/auth.log").string()};
  o.homes = {(root / "home/bob").string()};
  o.self_config = (root / "agent.yaml").string();
  o.proc_modules = (root / "no-modules").string();
  // Exec events, so that actors which exit at once (sed, chmod, rm) are still named.
  ProcessWatch processes;
  MemorySink process_events;
  ASSERT_TRUE(processes.start(process_events));
  Behaviour b(o);
  MemorySink sink;
  ASSERT_TRUE(b.start(sink));
  std::string r = root.string();
  // Each act by a python process that stays a moment after it: how quickly a program exits
  // is not what this test is about (the agent-behaviours case acts with the usual tools).
  const std::string python = fs::canonical("/usr/bin/python3").string();
  auto act = [&](const std::string& code) {
    std::string cmd = "/usr/bin/python3 -c \"import os, shutil, time; r = '" + r + "'; " + code +
                      "; time.sleep(0.3)\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  };
  act("t = open(r + '/etc/group').read().replace('sudo:x:27:', 'sudo:x:27:bob'); "
      "open(r + '/etc/group.new', 'w').write(t); os.rename(r + '/etc/group.new', r + "
      "'/etc/group')");
  act("open(r + '/etc/sudoers', 'a').write('bob ALL=(ALL) NOPASSWD: ALL\\n')");
  act("open(r + '/etc/sudoers.d/has.dot', 'w').write('ignored\\n')");
  act("shutil.copy('/bin/true', r + '/drop/t'); os.chmod(r + '/drop/t', 0o4755)");
  act("shutil.copy('/bin/true', r + '/drop/plain')");
  act("os.truncate(r + '/log/auth.log', 3)");
  act("os.remove(r + '/home/bob/.bash_history')");
  act("open(r + '/agent.yaml', 'w').write('agent: {poll_interval_ms: 5}\\n')");
  auto wait_for = [&](uint64_t sid) {
    for (int i = 0; i < 100 && sink.alerts(sid).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return sink.alerts(sid);
  };
  auto group = wait_for(behaviour_sid::kAdminGroup);
  ASSERT_EQ(group.size(), 1u);
  EXPECT_EQ(group[0].fields.find_string("behaviour.member"), "bob");
  EXPECT_EQ(group[0].fields.find_string("process.exe"), python);
  auto sudoers = wait_for(behaviour_sid::kSudoers);
  ASSERT_EQ(sudoers.size(), 1u);
  EXPECT_EQ(sudoers[0].alert->severity, 1);
  EXPECT_EQ(sudoers[0].fields.find_string("behaviour.added_lines.0"),
            "bob ALL=(ALL) NOPASSWD: ALL");
  auto suid = wait_for(behaviour_sid::kSuid);

  ASSERT_EQ(suid.size(), 1u);
  EXPECT_EQ(suid[0].fields.find_string("file.path"), r + "/drop/t");
  EXPECT_EQ(suid[0].fields.find_string("file.mode"), "4755");
  EXPECT_EQ(suid[0].fields.find_string("process.exe"), python);
  // A folder made after the start is watched; a SUID file made in it at once is found.
  act("os.mkdir(r + '/drop/sub'); shutil.copy('/bin/true', r + '/drop/sub/t'); "
      "os.chmod(r + '/drop/sub/t', 0o2755)");
  for (int i = 0; i < 100 && sink.alerts(behaviour_sid::kSuid).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  suid = sink.alerts(behaviour_sid::kSuid);
  ASSERT_EQ(suid.size(), 2u);
  EXPECT_EQ(suid[1].fields.find_string("file.path"), r + "/drop/sub/t");
  EXPECT_EQ(suid[1].fields.find_string("file.mode"), "2755");
  auto log = wait_for(behaviour_sid::kLogTampering);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].fields.find_string("file.action"), "truncated");
  EXPECT_EQ(log[0].fields.find_string("process.exe"), python);
  EXPECT_EQ(log[0].fields.find_string("process.user"), "root");
  auto history = wait_for(behaviour_sid::kHistoryCleared);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].fields.find_string("file.action"), "deleted");
  auto config = wait_for(behaviour_sid::kAgentConfig);
  ASSERT_EQ(config.size(), 1u);
  EXPECT_EQ(config[0].fields.find_string("file.path"), r + "/agent.yaml");
  b.stop();
  processes.stop();
  fs::remove_all(root);
}

}  // namespace
}  // namespace mimamori::host
