// This machine's facts on Windows (collector.h).

#include <windows.h>

#include "mimamori/host/collector.h"
#include "win_text.h"

namespace mimamori::host {

HostInfo this_host() {
  static const HostInfo info = [] {
    HostInfo h;
    wchar_t buf[256] = {0};
    DWORD n = 255;
    h.hostname = GetComputerNameExW(ComputerNameDnsHostname, buf, &n)
                     ? win::narrow(std::wstring_view(buf, n))
                     : "unknown";
    HANDLE token = nullptr;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
      TOKEN_ELEVATION el{};
      DWORD got = 0;
      h.root =
          GetTokenInformation(token, TokenElevation, &el, sizeof el, &got) && el.TokenIsElevated;
      CloseHandle(token);
    }
    return h;
  }();
  return info;
}

}  // namespace mimamori::host
