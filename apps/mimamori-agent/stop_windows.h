#pragma once
// The agent's stop request as a Windows event, beside its stop flag: the console handler and
// the service's control handler signal it, and idle waits (the event logs' subscription, a
// finished replay) block on it instead of waking to look at the flag.

#include <chrono>

namespace mimamori::agent {

/// The manual-reset event a stop request sets (a HANDLE; made on first use).
void* stop_event();
/// Sets the stop event (call it after setting the stop flag).
void signal_stop();
/// Waits until a stop is signalled or `timeout` passes; true when signalled.
bool wait_for_stop(std::chrono::milliseconds timeout);

}  // namespace mimamori::agent
