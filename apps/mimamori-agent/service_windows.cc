// The Windows service of mimamori-agent: the SCM starts `mimamori-agent.exe --service [-c FILE]`;
// a stop or a shutdown sets the agent's stop flag, and the agent commits what it read and stops.

#include "service_windows.h"

#include <windows.h>

#include <cstdio>
#include <filesystem>

#include "mimamori/core/log.h"
#include "paths_windows.h"
#include "stop_windows.h"

namespace mimamori::agent {
namespace {

constexpr const wchar_t* kServiceName = L"MimamoriAgent";
SERVICE_STATUS_HANDLE g_status_handle = nullptr;
SERVICE_STATUS g_status{};
std::function<int()> g_service_run;
std::atomic<bool>* g_service_stop = nullptr;
int g_service_rc = 0;

void report(DWORD state, DWORD exit_code = NO_ERROR) {
  g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  g_status.dwCurrentState = state;
  g_status.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  g_status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
  g_status.dwServiceSpecificExitCode = exit_code;
  g_status.dwWaitHint = state == SERVICE_RUNNING ? 0 : 30000;
  if (g_status_handle) SetServiceStatus(g_status_handle, &g_status);
}

DWORD WINAPI on_service_control(DWORD control, DWORD, LPVOID, LPVOID) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    report(SERVICE_STOP_PENDING);
    g_service_stop->store(true);
    signal_stop();
  }
  return NO_ERROR;
}

void WINAPI service_main(DWORD, LPWSTR*) {
  g_status_handle = RegisterServiceCtrlHandlerExW(kServiceName, on_service_control, nullptr);
  if (!g_status_handle) return;
  report(SERVICE_RUNNING);
  try {
    g_service_rc = g_service_run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    g_service_rc = 2;
  }
  report(SERVICE_STOPPED, static_cast<DWORD>(g_service_rc));
}

}  // namespace

int run_as_service(std::function<int()> run, std::atomic<bool>& stop) {
  g_service_run = std::move(run);
  g_service_stop = &stop;
  SERVICE_TABLE_ENTRYW table[] = {{const_cast<wchar_t*>(kServiceName), service_main},
                                  {nullptr, nullptr}};
  if (!StartServiceCtrlDispatcherW(table)) {
    spdlog::error(
        "--service: not started by the Service Control Manager (error {}); run "
        "without --service in a console",
        GetLastError());
    return 1;
  }
  return g_service_rc;
}

// `install`: the service, started automatically, restarted on failure (5 s, 3 times, the count
// reset after a day); `uninstall`: stopped and removed.
int install_service(const std::string& config_file) {
  wchar_t exe[MAX_PATH];
  DWORD n = GetModuleFileNameW(nullptr, exe, MAX_PATH);
  if (n == 0 || n == MAX_PATH) {
    spdlog::error("install: cannot find this program's path");
    return 1;
  }
  std::wstring command = L"\"" + std::wstring(exe, n) + L"\" --service";
  if (!config_file.empty()) {
    std::error_code ec;
    command += L" -c \"" + std::filesystem::absolute(u8path(config_file), ec).wstring() + L"\"";
  }
  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE);
  if (!scm) {
    spdlog::error(
        "install: cannot open the Service Control Manager (error {}): run from an "
        "elevated prompt",
        GetLastError());
    return 1;
  }
  SC_HANDLE svc =
      CreateServiceW(scm, kServiceName, L"Mimamori Agent", SERVICE_ALL_ACCESS,
                     SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                     command.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr);
  if (!svc) {
    DWORD err = GetLastError();
    CloseServiceHandle(scm);
    spdlog::error("install: CreateService failed (error {}{})", err,
                  err == ERROR_SERVICE_EXISTS ? ": already installed" : "");
    return 1;
  }
  SERVICE_DESCRIPTIONW desc{const_cast<wchar_t*>(
      L"Mimamori endpoint monitoring: event logs matched against Sigma rules, alerts to the "
      L"provider's server")};
  ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
  SC_ACTION actions[3] = {
      {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 86400;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  std::printf("installed the service MimamoriAgent (automatic start, restarted on failure)\n");
  return 0;
}

int uninstall_service() {
  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  if (!scm) {
    spdlog::error(
        "uninstall: cannot open the Service Control Manager (error {}): run from an "
        "elevated prompt",
        GetLastError());
    return 1;
  }
  SC_HANDLE svc = OpenServiceW(scm, kServiceName, SERVICE_STOP | DELETE | SERVICE_QUERY_STATUS);
  if (!svc) {
    DWORD err = GetLastError();
    CloseServiceHandle(scm);
    spdlog::error("uninstall: the service is not installed (error {})", err);
    return 1;
  }
  SERVICE_STATUS st{};
  ControlService(svc, SERVICE_CONTROL_STOP, &st);
  bool ok = DeleteService(svc);
  DWORD err = GetLastError();
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  if (!ok) {
    spdlog::error("uninstall: DeleteService failed (error {})", err);
    return 1;
  }
  std::printf("removed the service MimamoriAgent\n");
  return 0;
}

}  // namespace mimamori::agent
