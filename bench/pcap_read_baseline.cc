// The baseline of the sensor benchmark: a plain libpcap read loop over a capture that touches
// every byte's length and nothing else. The sensor's time is reported as a ratio to this.

#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pcap-read-baseline FILE.pcap\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (!p) {
    std::fprintf(stderr, "cannot read '%s': %s\n", argv[1], err);
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  unsigned long long packets = 0, bytes = 0, sum = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    ++packets;
    bytes += h->len;
    sum += d[0];  // read the frame, so the loop cannot be optimised away
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("packets %llu bytes %llu seconds %.6f check %llu\n", packets, bytes, s, sum);
  pcap_close(p);
  return 0;
}
