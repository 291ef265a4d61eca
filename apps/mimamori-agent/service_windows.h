#pragma once
// The agent as a Windows service, and its installation (service_windows.cc).

#include <atomic>
#include <functional>
#include <string>

namespace mimamori::agent {

/// Runs `run` as the service MimamoriAgent when started by the Service Control Manager; a stop
/// or shutdown sets `stop`. Returns `run`'s result, or 1 when not started by the SCM.
int run_as_service(std::function<int()> run, std::atomic<bool>& stop);
/// The service, started automatically, restarted on failure (5 s, 3 times, the count reset
/// after a day), running `--service` with `config_file` when given.
int install_service(const std::string& config_file);
/// Stops and removes the service.
int uninstall_service();

}  // namespace mimamori::agent
