#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "mimamori/host/collector.h"

namespace mimamori::host {

HostInfo this_host() {
  static const HostInfo info = [] {
    HostInfo h;
    char buf[256] = {0};
    if (::gethostname(buf, sizeof buf - 1) == 0) h.hostname = buf;
    h.root = ::geteuid() == 0;
    return h;
  }();
  return info;
}

std::string read_small_file(const std::string& path, std::size_t max) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  while (out.size() < max) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string process_cmdline(int pid) {
  std::string s = read_small_file("/proc/" + std::to_string(pid) + "/cmdline", 1 << 15);
  std::replace(s.begin(), s.end(), '\0', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace mimamori::host
