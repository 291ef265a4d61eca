#pragma once
/// Native reader of Windows XML event logs (EVTX): file header, chunks, records and the binary
/// XML token stream with templates and substitutions. Memory-mapped; values point into the map
/// until they are rendered. Damaged chunks and records are reported and skipped.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/core/result.h"

namespace mimamori::evtx {

/// Binary XML value types (MS-EVEN6 / EVTX); arrays are `kArrayFlag | element type`.
enum class EvtxType : uint8_t {
  kNull = 0x00,
  kString = 0x01,
  kAnsiString = 0x02,
  kInt8 = 0x03,
  kUInt8 = 0x04,
  kInt16 = 0x05,
  kUInt16 = 0x06,
  kInt32 = 0x07,
  kUInt32 = 0x08,
  kInt64 = 0x09,
  kUInt64 = 0x0a,
  kReal32 = 0x0b,
  kReal64 = 0x0c,
  kBool = 0x0d,
  kBinary = 0x0e,
  kGuid = 0x0f,
  kSizeT = 0x10,
  kFileTime = 0x11,
  kSysTime = 0x12,
  kSid = 0x13,
  kHexInt32 = 0x14,
  kHexInt64 = 0x15,
  kEvtHandle = 0x20,
  kBinXml = 0x21,
  kEvtXml = 0x23,
};
/// Set on a value type when the value is an array of that type.
inline constexpr uint8_t kEvtxArrayFlag = 0x80;

/// A typed value as stored in the file (bytes point into the mapped file).
struct EvtxValue {
  uint8_t type = 0;
  uint32_t size = 0;
  const uint8_t* data = nullptr;
};

/// Something wrong in a file: reported with where and why, never fatal for the rest.
struct EvtxProblem {
  std::string file;
  uint64_t offset = 0;  ///< byte offset in the file
  std::string what;
};

/// One field of a record's flat view: System fields (`EventID`, `Channel`, `Provider_Name`,
/// attributes as `Element_Attribute`) and EventData/UserData fields by name.
struct EvtxField {
  std::string_view name;
  std::string_view value;
  bool numeric = false;  ///< rendered from an integer type (JSON number)
};

/// One decoded record: a small XML tree over buffers reused from record to record.
class EvtxRecord {
 public:
  /// A node of the tree: an element, an attribute (its values are its children's values) or a
  /// text made of values.
  struct Node {
    enum Kind : uint8_t { kElement, kAttribute, kText };
    Kind kind = kElement;
    std::string_view name;
    uint32_t parent = 0;
    uint32_t first_child = 0;  ///< 0: none (node 0 is the document root)
    uint32_t last_child = 0;
    uint32_t next = 0;   ///< next sibling, 0: none
    uint32_t value = 0;  ///< kText: index into values()
  };

  uint64_t record_id = 0;
  core::Timestamp time;      ///< written time from the record header
  uint64_t file_offset = 0;  ///< of the record in its file

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<EvtxValue>& values() const { return values_; }

  /// The flat field view (valid until the next call or the next record).
  const std::vector<EvtxField>& fields() const;
  /// The record as JSON in the common evtx-dump shape (`{"Event":{"#attributes":…,"System":…}}`).
  void append_json(std::string& out) const;
  /// The record as XML, as Windows' event viewer shows it.
  void append_xml(std::string& out) const;

  /// Appends the text rendering of one value (strings UTF-8, GUIDs upper case without braces,
  /// SIDs `S-1-…`, times ISO 8601 UTC with microseconds, binary upper-case hex, hex integers
  /// `0x…`).
  static void render_value(const EvtxValue& v, std::string& out);
  /// Appends the concatenated text values directly under `node` (an element or attribute).
  void append_text(uint32_t node, std::string& out) const;
  /// True when the value renders as a JSON number.
  static bool is_numeric(const EvtxValue& v);

 private:
  friend class EvtxChunkDecoder;
  void reset();
  uint32_t add_node(Node::Kind kind, std::string_view name, uint32_t parent);
  void build_fields() const;

  std::vector<Node> nodes_;
  std::vector<EvtxValue> values_;
  mutable std::vector<EvtxField> fields_;
  mutable std::string field_text_;
  mutable bool fields_built_ = false;
};

/// Counters for one read.
struct EvtxStats {
  uint64_t chunks = 0;
  uint64_t records = 0;
  uint64_t bad_chunks = 0;   ///< skipped entirely
  uint64_t bad_records = 0;  ///< skipped
  uint64_t crc_errors = 0;   ///< reported, decoded anyway
  uint64_t bytes = 0;        ///< chunk bytes looked at
};

/// Called for each decoded record.
using EvtxRecordSink = std::function<void(const EvtxRecord&)>;
/// Called for each problem.
using EvtxProblemSink = std::function<void(const EvtxProblem&)>;

/// Decodes chunks; one per thread. Keeps the per-chunk string (name) cache.
class EvtxChunkDecoder {
 public:
  EvtxChunkDecoder();
  ~EvtxChunkDecoder();
  /// Decodes the records of one 64 KiB chunk at `chunk` (file offset `chunk_offset`).
  void decode_chunk(std::string_view file, const uint8_t* chunk, uint64_t chunk_offset,
                    const EvtxRecordSink& on_record, const EvtxProblemSink& on_problem,
                    EvtxStats& stats);
  /// Decodes a bare binary XML fragment (no chunk around it): names must be inline.
  core::Status decode_fragment(std::string_view data, EvtxRecord& record);

 private:
  struct State;
  std::unique_ptr<State> s_;
  std::string fragment_;  // decode_fragment's copy, placed at its offset in the chunk
};

/// A memory-mapped EVTX file.
class EvtxFile {
 public:
  static constexpr uint32_t kChunkSize = 65536;
  static constexpr uint32_t kHeaderSize = 4096;

  /// Maps `path`; the error says why it cannot be read. A bad file header is not an error
  /// here (it is reported by read()), so that the chunks can still be read.
  static core::Result<EvtxFile> open(const std::string& path);
  EvtxFile(EvtxFile&&) noexcept;
  EvtxFile& operator=(EvtxFile&&) noexcept;
  ~EvtxFile();

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  /// Number of 64 KiB chunk slots after the header.
  uint32_t chunk_slots() const;
  /// Checks the file header (magic, CRC); problems go to `on_problem`.
  void check_header(const EvtxProblemSink& on_problem, EvtxStats& stats) const;
  /// Reads chunk slots [first, last) with `decoder`.
  void read_chunks(uint32_t first, uint32_t last, EvtxChunkDecoder& decoder,
                   const EvtxRecordSink& on_record, const EvtxProblemSink& on_problem,
                   EvtxStats& stats) const;
  /// Reads the whole file on this thread.
  EvtxStats read(const EvtxRecordSink& on_record, const EvtxProblemSink& on_problem) const;

 private:
  EvtxFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint32_t declared_chunks_ = 0;  ///< from a healthy header, else every slot
};

/// CRC-32 (IEEE, as zlib), used for the header and chunk checksums.
uint32_t evtx_crc32(const uint8_t* data, std::size_t size, uint32_t crc = 0);

}  // namespace mimamori::evtx
