#pragma once
/// ProcessMemory: the programs started in the last minutes, as the process collector saw them at
/// their exec, so that a file collector told "pid 4242 did it" by fanotify can still name a
/// process that had already exited (`rm`, `chmod`, `truncate` live for a millisecond), walk its
/// ancestry, and tell whether a package manager or log rotation is at work.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/host/process_watch.h"

namespace mimamori::host {

/// One process as remembered (from /proc while alive, else from its exec event).
struct KnownProcess {
  int pid = 0;
  int ppid = 0;
  uint32_t uid = 0;
  std::string user;
  std::string exe;
  std::string cmdline;
};

/// Records a started process (called by the process collector for every exec).
void remember_process(const ProcessInfo& p);

/// The process `pid`: /proc when it is still there, else what its exec event recorded in the
/// last ten minutes; nullopt when neither knows it.
std::optional<KnownProcess> recall_process(int pid);

/// `pid`, its parent, grandparent ... (at most `depth`), each as recall_process finds it.
std::vector<KnownProcess> process_lineage(int pid, int depth = 8);

/// The package manager (dpkg, apt, rpm, dnf, ...) among `lineage` (its maintainer scripts write
/// cron files, units and groups); when the actor is unknown (empty lineage), one running now or
/// started in the last `recent`. Empty when none is at work.
std::string package_manager_at_work(const std::vector<KnownProcess>& lineage,
                                    std::chrono::seconds recent = std::chrono::seconds(60));

/// Whether a process of `lineage` runs a program of this base name (e.g. "logrotate").
bool lineage_runs(const std::vector<KnownProcess>& lineage, std::string_view base_name);

/// The most recent remembered process whose program or first argument has one of `names` as
/// base name, started within `recent` (e.g. the insmod behind a module load).
std::optional<KnownProcess> recent_process_named(const std::vector<std::string_view>& names,
                                                 std::chrono::seconds recent);

}  // namespace mimamori::host
