#include "stop_windows.h"

#include <windows.h>

#include <algorithm>

namespace mimamori::agent {

void* stop_event() {
  static HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  return event;
}

void signal_stop() { SetEvent(stop_event()); }

bool wait_for_stop(std::chrono::milliseconds timeout) {
  auto ms = std::clamp<int64_t>(timeout.count(), 0, INFINITE - 1);
  return WaitForSingleObject(stop_event(), static_cast<DWORD>(ms)) == WAIT_OBJECT_0;
}

}  // namespace mimamori::agent
