// EVTX reader: file and chunk headers, records, and the binary XML token stream with template
// expansion. Every offset read from the file is bounds-checked against the chunk (or fragment),
// so that a damaged record ends in a reported problem, never in a read outside the map.

#include <fmt/format.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <array>
#include <cerrno>
#include <cstring>

#include "mimamori/evtx/evtx.h"
#include "text.h"

namespace mimamori::evtx {
namespace {

constexpr uint32_t kRecordMagic = 0x00002a2a;
constexpr uint32_t kChunkHeaderSize = 512;
// Nesting of templates inside substitutions inside templates; real logs use two or three.
constexpr int kMaxDepth = 24;
// Templates nested in substitutions can multiply a small record into a huge tree; a record
// that needs more tokens than this is damaged (real records need a few hundred).
constexpr uint32_t kMaxSteps = 1u << 18;

// Slicing-by-8 tables: eight bytes per step, several times faster than a byte at a time; the
// data CRC of every chunk is checked, so this is on the hot path.
std::array<std::array<uint32_t, 256>, 8> make_crc_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}
const std::array<std::array<uint32_t, 256>, 8> kCrc = make_crc_tables();

// Entity references resolve to these bytes (given to the renderer as ANSI strings).
const uint8_t kAmp[] = "&";
const uint8_t kLt[] = "<";
const uint8_t kGt[] = ">";
const uint8_t kQuot[] = "\"";
const uint8_t kApos[] = "'";

}  // namespace

uint32_t evtx_crc32(const uint8_t* data, std::size_t size, uint32_t crc) {
  crc = ~crc;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint32_t lo = load_le<uint32_t>(data + i) ^ crc;
    uint32_t hi = load_le<uint32_t>(data + i + 4);
    crc = kCrc[7][lo & 0xff] ^ kCrc[6][(lo >> 8) & 0xff] ^ kCrc[5][(lo >> 16) & 0xff] ^
          kCrc[4][lo >> 24] ^ kCrc[3][hi & 0xff] ^ kCrc[2][(hi >> 8) & 0xff] ^
          kCrc[1][(hi >> 16) & 0xff] ^ kCrc[0][hi >> 24];
  }
  for (; i < size; ++i) crc = kCrc[0][(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

// ---------------------------------------------------------------------------------------------
// Decoder state: the current chunk (or fragment), its name cache and the substitution stack.

struct EvtxChunkDecoder::State {
  const uint8_t* base = nullptr;
  uint32_t size = 0;
  std::unordered_map<uint32_t, std::string_view> names;
  // Names live here for the chunk's lifetime. Reserved so that it never reallocates: a chunk
  // of 64 KiB of UTF-16 is at most 96 KiB of UTF-8.
  std::string name_arena;
  std::vector<EvtxValue> subs;
  EvtxRecord record;
  std::string error;
  uint32_t error_at = 0;
  uint32_t steps = 0;  // tokens parsed for the current record

  State() {
    name_arena.reserve(4 * EvtxFile::kChunkSize);
    names.reserve(512);
    subs.reserve(256);
  }

  void new_base(const uint8_t* b, uint32_t n) {
    base = b;
    size = n;
    names.clear();
    name_arena.clear();
  }

  bool fail(uint32_t at, std::string what) {
    if (error.empty()) {
      error = std::move(what);
      error_at = at;
    }
    return false;
  }

  uint16_t u16(uint32_t at) const { return load_le<uint16_t>(base + at); }
  uint32_t u32(uint32_t at) const { return load_le<uint32_t>(base + at); }

  // The name at `off`; when the name is stored inline at `pos`, moves `pos` past it.
  bool read_name(uint32_t off, uint32_t& pos, uint32_t end, std::string_view& out) {
    if (off > size || size - off < 8) return fail(pos, fmt::format("name offset {} outside", off));
    uint32_t nchars = u16(off + 6);
    uint64_t name_end = uint64_t(off) + 8 + 2ull * nchars + 2;
    if (name_end > size) return fail(off, "name runs past the end");
    if (off == pos) {
      if (name_end > end) return fail(off, "inline name runs past its fragment");
      pos = static_cast<uint32_t>(name_end);
    }
    if (auto it = names.find(off); it != names.end()) {
      out = it->second;
      return true;
    }
    std::size_t before = name_arena.size();
    if (name_arena.capacity() - before < 3u * nchars + 4) {
      out = "?";  // cannot happen within one chunk; keep the views into the arena valid
      return true;
    }
    append_utf16(name_arena, base + off + 8, nchars);
    out = std::string_view(name_arena.data() + before, name_arena.size() - before);
    names.emplace(off, out);
    return true;
  }

  void add_value(uint32_t parent, const EvtxValue& v) {
    auto& r = record;
    uint32_t n = r.add_node(EvtxRecord::Node::kText, {}, parent);
    r.nodes_[n].value = static_cast<uint32_t>(r.values_.size());
    r.values_.push_back(v);
  }

  // Parses tokens in [pos, end) under `parent`, with substitutions subs[sb, sb+sn).
  // `in_value` is set for a fragment embedded as a substitution value: its elements carry no
  // dependency identifier.
  bool parse(uint32_t pos, uint32_t end, std::size_t sb, std::size_t sn, uint32_t parent, int depth,
             bool in_value = false) {
    if (depth > kMaxDepth) return fail(pos, "templates nested too deep");
    if (end > size) return fail(pos, "fragment runs past the chunk");
    auto& r = record;
    uint32_t cur = parent;
    uint32_t attr = 0;  // open attribute collecting values, 0: none
    while (pos < end) {
      if (++steps > kMaxSteps) return fail(pos, "record expands to too many tokens");
      uint8_t tok = base[pos];
      uint32_t avail = end - pos;
      switch (tok & 0xbf) {
        case 0x00:  // end of fragment
          return true;
        case 0x01: {  // open start element
          uint32_t hdr = in_value ? 9 : 11;
          if (avail < hdr) return fail(pos, "truncated element");
          uint32_t name_off = u32(pos + hdr - 4);
          pos += hdr;
          std::string_view name;
          if (!read_name(name_off, pos, end, name)) return false;
          if (tok & 0x40) {
            if (end - pos < 4) return fail(pos, "truncated attribute list");
            pos += 4;
          }
          cur = r.add_node(EvtxRecord::Node::kElement, name, cur);
          attr = 0;
          break;
        }
        case 0x02:  // close start element
          attr = 0;
          ++pos;
          break;
        case 0x03:  // close empty element
        case 0x04:  // end element
          attr = 0;
          if (cur == parent) return fail(pos, "end of an element that was not opened");
          cur = r.nodes_[cur].parent;
          ++pos;
          break;
        case 0x05:    // value text
        case 0x07: {  // CDATA
          uint32_t hdr = (tok & 0xbf) == 0x05 ? 4 : 3;
          if (avail < hdr) return fail(pos, "truncated text");
          uint32_t n = u16(pos + hdr - 2);
          if (avail - hdr < 2ull * n) return fail(pos, "text runs past its fragment");
          add_value(attr ? attr : cur,
                    EvtxValue{static_cast<uint8_t>(EvtxType::kString), 2 * n, base + pos + hdr});
          pos += hdr + 2 * n;
          break;
        }
        case 0x06: {  // attribute
          if (avail < 5) return fail(pos, "truncated attribute");
          uint32_t name_off = u32(pos + 1);
          pos += 5;
          std::string_view name;
          if (!read_name(name_off, pos, end, name)) return false;
          if (cur == parent) return fail(pos, "attribute outside an element");
          attr = r.add_node(EvtxRecord::Node::kAttribute, name, cur);
          break;
        }
        case 0x08: {  // character reference: one UTF-16 unit
          if (avail < 3) return fail(pos, "truncated character reference");
          add_value(attr ? attr : cur,
                    EvtxValue{static_cast<uint8_t>(EvtxType::kString), 2, base + pos + 1});
          pos += 3;
          break;
        }
        case 0x09: {  // entity reference
          if (avail < 5) return fail(pos, "truncated entity reference");
          uint32_t name_off = u32(pos + 1);
          pos += 5;
          std::string_view name;
          if (!read_name(name_off, pos, end, name)) return false;
          const uint8_t* s = name == "amp"    ? kAmp
                             : name == "lt"   ? kLt
                             : name == "gt"   ? kGt
                             : name == "quot" ? kQuot
                             : name == "apos" ? kApos
                                              : nullptr;
          if (s)
            add_value(attr ? attr : cur,
                      EvtxValue{static_cast<uint8_t>(EvtxType::kAnsiString), 1, s});
          break;
        }
        case 0x0a: {  // processing instruction target
          if (avail < 5) return fail(pos, "truncated processing instruction");
          uint32_t name_off = u32(pos + 1);
          pos += 5;
          std::string_view name;
          if (!read_name(name_off, pos, end, name)) return false;
          break;
        }
        case 0x0b: {  // processing instruction data
          if (avail < 3) return fail(pos, "truncated processing instruction");
          uint32_t n = u16(pos + 1);
          if (avail - 3 < 2ull * n) return fail(pos, "processing instruction runs past its end");
          pos += 3 + 2 * n;
          break;
        }
        case 0x0c: {  // template instance
          if (avail < 10) return fail(pos, "truncated template instance");
          uint32_t def = u32(pos + 6);
          pos += 10;
          if (def > size || size - def < 24)
            return fail(pos, fmt::format("template offset {} outside", def));
          uint32_t def_size = u32(def + 20);
          if (uint64_t(def) + 24 + def_size > size)
            return fail(def, "template runs past the chunk");
          if (def == pos) {
            if (uint64_t(def) + 24 + def_size > end)
              return fail(def, "inline template runs past its fragment");
            pos = def + 24 + def_size;
          }
          if (end - pos < 4) return fail(pos, "truncated substitution count");
          uint32_t count = u32(pos);
          pos += 4;
          if (count > (end - pos) / 4)
            return fail(pos, fmt::format("{} substitutions do not fit", count));
          uint32_t vpos = pos + 4 * count;
          std::size_t nb = subs.size();
          for (uint32_t i = 0; i < count; ++i) {
            uint16_t vsize = u16(pos + 4 * i);
            uint8_t vtype = base[pos + 4 * i + 2];
            if (end - vpos < vsize) {
              subs.resize(nb);
              return fail(vpos, fmt::format("substitution {} runs past the record", i));
            }
            subs.push_back(EvtxValue{vtype, vsize, base + vpos});
            vpos += vsize;
          }
          pos = vpos;
          bool ok = parse(def + 24, def + 24 + def_size, nb, count, cur, depth + 1);
          subs.resize(nb);
          if (!ok) return false;
          break;
        }
        case 0x0d:    // normal substitution
        case 0x0e: {  // optional substitution
          if (avail < 4) return fail(pos, "truncated substitution");
          uint16_t index = u16(pos + 1);
          bool optional = (tok & 0xbf) == 0x0e;
          pos += 4;
          if (index >= sn) {
            if (sn == 0) return fail(pos, "substitution outside a template");
            break;  // a template may reference fewer values than it declares: treat as absent
          }
          EvtxValue v = subs[sb + index];
          if (optional && (v.type == 0 || v.size == 0)) break;
          if (v.type == static_cast<uint8_t>(EvtxType::kBinXml)) {
            if (attr) break;
            uint32_t off = static_cast<uint32_t>(v.data - base);
            if (!parse(off, off + v.size, 0, 0, cur, depth + 1, true)) return false;
            break;
          }
          add_value(attr ? attr : cur, v);
          break;
        }
        case 0x0f:  // fragment header: version and flags
          if (avail < 4) return fail(pos, "truncated fragment header");
          pos += 4;
          break;
        default:
          return fail(pos, fmt::format("unknown binary XML token 0x{:02x}", tok));
      }
    }
    return true;
  }
};

EvtxChunkDecoder::EvtxChunkDecoder() : s_(std::make_unique<State>()) {}
EvtxChunkDecoder::~EvtxChunkDecoder() = default;

void EvtxChunkDecoder::decode_chunk(std::string_view file, const uint8_t* chunk,
                                    uint64_t chunk_offset, const EvtxRecordSink& on_record,
                                    const EvtxProblemSink& on_problem, EvtxStats& stats) {
  State& s = *s_;
  ++stats.chunks;
  stats.bytes += EvtxFile::kChunkSize;
  auto report = [&](uint64_t at, std::string what) {
    if (on_problem) on_problem(EvtxProblem{std::string(file), chunk_offset + at, std::move(what)});
  };
  if (std::memcmp(chunk, "ElfChnk", 8) != 0) {
    // Slots past the last used chunk are all zeros in a healthy file: not a problem.
    bool zero = true;
    for (uint32_t i = 0; i < 16 && zero; ++i) zero = chunk[i] == 0;
    if (!zero) {
      ++stats.bad_chunks;
      report(0, "bad chunk magic; chunk skipped");
    } else {
      --stats.chunks;
    }
    return;
  }
  s.new_base(chunk, EvtxFile::kChunkSize);
  uint32_t free_off = s.u32(48);
  uint32_t header_crc = s.u32(124);
  uint32_t crc = evtx_crc32(chunk, 120);
  crc = evtx_crc32(chunk + 128, kChunkHeaderSize - 128, crc);
  if (crc != header_crc) {
    ++stats.crc_errors;
    report(124, fmt::format("chunk header CRC mismatch (stored {:08x}, computed {:08x})",
                            header_crc, crc));
  }
  if (free_off < kChunkHeaderSize || free_off > EvtxFile::kChunkSize) {
    report(48,
           fmt::format("free space offset {} out of range; reading to the chunk's end", free_off));
    free_off = EvtxFile::kChunkSize;
  } else {
    uint32_t data_crc = evtx_crc32(chunk + kChunkHeaderSize, free_off - kChunkHeaderSize);
    if (data_crc != s.u32(52)) {
      ++stats.crc_errors;
      report(52, fmt::format("chunk data CRC mismatch (stored {:08x}, computed {:08x})", s.u32(52),
                             data_crc));
    }
  }
  uint32_t pos = kChunkHeaderSize;
  while (pos + 28 <= free_off) {
    uint32_t magic = s.u32(pos);
    uint32_t size = s.u32(pos + 4);
    if (magic != kRecordMagic || size < 28 || size > free_off - pos ||
        s.u32(pos + size - 4) != size) {
      if (magic == 0 && size == 0) break;  // slack after the last record
      ++stats.bad_records;
      report(pos, magic != kRecordMagic
                      ? "bad record magic; looking for the next record"
                      : fmt::format("bad record size {}; looking for the next record", size));
      // Records are 8-byte aligned: look for the next magic.
      pos += 8;
      while (pos + 28 <= free_off && s.u32(pos) != kRecordMagic) pos += 8;
      continue;
    }
    EvtxRecord& r = s.record;
    r.reset();
    r.record_id = load_le<uint64_t>(chunk + pos + 8);
    r.time = core::Timestamp{filetime_to_micros(load_le<uint64_t>(chunk + pos + 16))};
    r.file_offset = chunk_offset + pos;
    s.error.clear();
    s.subs.clear();
    s.steps = 0;
    if (s.parse(pos + 24, pos + size - 4, 0, 0, 0, 0)) {
      ++stats.records;
      on_record(r);
    } else {
      ++stats.bad_records;
      report(s.error_at, fmt::format("record {}: {}; record skipped", r.record_id, s.error));
    }
    pos += size;
  }
}

core::Status EvtxChunkDecoder::decode_fragment(std::string_view data, EvtxRecord& record) {
  State& s = *s_;
  if (data.size() > EvtxFile::kChunkSize) return core::make_error("fragment larger than a chunk");
  // A fragment cut out of a chunk keeps the chunk's offsets. When it opens with a template
  // instance whose inline definition sits right after it, the difference gives the fragment's
  // place in its chunk; put it there so that every offset resolves.
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t shift = 0;
  if (data.size() >= 14 && p[0] == 0x0f && p[4] == 0x0c) {
    uint32_t def = load_le<uint32_t>(p + 10);
    if (def >= 14 && def - 14 + data.size() <= EvtxFile::kChunkSize) shift = def - 14;
  }
  fragment_.assign(shift, '\0');
  fragment_.append(data);
  s.new_base(reinterpret_cast<const uint8_t*>(fragment_.data()),
             static_cast<uint32_t>(fragment_.size()));
  s.record.reset();
  s.error.clear();
  s.subs.clear();
  s.steps = 0;
  bool ok = s.parse(shift, s.size, 0, 0, 0, 0);
  record = s.record;
  record.fields_built_ = false;
  if (!ok) return core::make_error("offset {}: {}", s.error_at, s.error);
  return {};
}

// ---------------------------------------------------------------------------------------------

namespace {

#ifdef _WIN32
// The file mapped read-only: CreateFileMapping on Windows (the path is UTF-8, opened as UTF-16;
// others may go on writing the log, as the event log service does).
core::Status map_file(const std::string& path, const uint8_t*& data, uint64_t& size) {
  int n = MultiByteToWideChar(CP_UTF8, 0, path.data(), static_cast<int>(path.size()), nullptr, 0);
  std::wstring wide(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, path.data(), static_cast<int>(path.size()), wide.data(), n);
  HANDLE file = CreateFileW(wide.c_str(), GENERIC_READ,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                            OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, nullptr);
  if (file == INVALID_HANDLE_VALUE)
    return core::make_error("{}: cannot open: Windows error {}", path, GetLastError());
  LARGE_INTEGER bytes{};
  if (GetFileType(file) != FILE_TYPE_DISK || !GetFileSizeEx(file, &bytes)) {
    CloseHandle(file);
    return core::make_error("{}: not a regular file", path);
  }
  size = static_cast<uint64_t>(bytes.QuadPart);
  data = nullptr;
  if (size > 0) {
    HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    void* p = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) : nullptr;
    DWORD err = GetLastError();
    if (mapping) CloseHandle(mapping);  // the view keeps the mapping
    if (!p) {
      CloseHandle(file);
      return core::make_error("{}: cannot map: Windows error {}", path, err);
    }
    data = static_cast<const uint8_t*>(p);
  }
  CloseHandle(file);
  return {};
}

void unmap_file(const uint8_t* data, uint64_t /*size*/) { UnmapViewOfFile(data); }
#else
core::Status map_file(const std::string& path, const uint8_t*& data, uint64_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::make_error("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return core::make_error("{}: not a regular file", path);
  }
  size = static_cast<uint64_t>(st.st_size);
  data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return core::make_error("{}: cannot map: {}", path, std::strerror(errno));
    }
    ::madvise(p, size, MADV_SEQUENTIAL);
    data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return {};
}

void unmap_file(const uint8_t* data, uint64_t size) { ::munmap(const_cast<uint8_t*>(data), size); }
#endif

}  // namespace

core::Result<EvtxFile> EvtxFile::open(const std::string& path) {
  EvtxFile f;
  f.path_ = path;
  if (auto st = map_file(path, f.data_, f.size_); !st.ok()) return st.error();
  f.declared_chunks_ = f.chunk_slots();
  if (f.size_ >= kHeaderSize && std::memcmp(f.data_, "ElfFile", 8) == 0 &&
      load_le<uint32_t>(f.data_ + 124) == evtx_crc32(f.data_, 120))
    f.declared_chunks_ = std::min<uint32_t>(f.declared_chunks_, load_le<uint16_t>(f.data_ + 42));
  return f;
}

EvtxFile::EvtxFile(EvtxFile&& o) noexcept
    : path_(std::move(o.path_)),
      data_(o.data_),
      size_(o.size_),
      declared_chunks_(o.declared_chunks_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

EvtxFile& EvtxFile::operator=(EvtxFile&& o) noexcept {
  if (this != &o) {
    if (data_) unmap_file(data_, size_);
    path_ = std::move(o.path_);
    data_ = o.data_;
    size_ = o.size_;
    declared_chunks_ = o.declared_chunks_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

EvtxFile::~EvtxFile() {
  if (data_) unmap_file(data_, size_);
}

uint32_t EvtxFile::chunk_slots() const {
  if (size_ < kHeaderSize + kChunkSize) return 0;
  return static_cast<uint32_t>((size_ - kHeaderSize) / kChunkSize);
}

void EvtxFile::check_header(const EvtxProblemSink& on_problem, EvtxStats& stats) const {
  auto report = [&](uint64_t at, std::string what) {
    if (on_problem) on_problem(EvtxProblem{path_, at, std::move(what)});
  };
  if (size_ < kHeaderSize || std::memcmp(data_, "ElfFile", 8) != 0) {
    report(0, "not an EVTX file header (bad magic); looking for chunks anyway");
    return;
  }
  uint32_t stored = load_le<uint32_t>(data_ + 124);
  uint32_t crc = evtx_crc32(data_, 120);
  if (stored != crc) {
    ++stats.crc_errors;
    report(124,
           fmt::format("file header CRC mismatch (stored {:08x}, computed {:08x})", stored, crc));
  }
  if ((size_ - kHeaderSize) % kChunkSize != 0)
    report(size_, fmt::format("{} trailing bytes after the last whole chunk ignored",
                              (size_ - kHeaderSize) % kChunkSize));
}

void EvtxFile::read_chunks(uint32_t first, uint32_t last, EvtxChunkDecoder& decoder,
                           const EvtxRecordSink& on_record, const EvtxProblemSink& on_problem,
                           EvtxStats& stats) const {
  last = std::min(last, chunk_slots());
  for (uint32_t i = first; i < last; ++i) {
    uint64_t off = kHeaderSize + uint64_t(i) * kChunkSize;
    // Slots past the chunk count of a healthy header hold leftovers of older data: read them
    // only when they look like chunks.
    if (i >= declared_chunks_ && std::memcmp(data_ + off, "ElfChnk", 8) != 0) continue;
    decoder.decode_chunk(path_, data_ + off, off, on_record, on_problem, stats);
  }
}

EvtxStats EvtxFile::read(const EvtxRecordSink& on_record, const EvtxProblemSink& on_problem) const {
  EvtxStats stats;
  check_header(on_problem, stats);
  EvtxChunkDecoder decoder;
  read_chunks(0, chunk_slots(), decoder, on_record, on_problem, stats);
  return stats;
}

}  // namespace mimamori::evtx
