#pragma once
/// Windows event logs as the agent reads them. An EventLogSource delivers rendered records (the
/// event XML, as `EvtRender(EvtRenderEventXml)` gives it) with a bookmark per source, so that a
/// restarted agent resumes after the last record it kept, without duplicates.
///
/// - open_wevt_source (Windows only): `EvtSubscribe` on channels, `EvtRender`, bookmarks from
///   `EvtCreateBookmark`/`EvtUpdateBookmark`.
/// - open_replay_source (every platform): EVTX files played as if subscribed, rendered to the
///   same XML (`EvtxRecord::append_xml`), with bookmarks of the same shape. Wine's `wevtapi` is
///   a stub, so this is how the agent's event-log path is tested, and `--replay` uses it.
///
/// event_xml_fields() flattens an event's XML into the fields the EVTX reader gives for the same
/// record (`EventID`, `Provider_Name`, EventData by `Name`, ...): Sigma rules see the same names
/// on a live record as in `mimamori hunt` over the exported file.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::sigma {
class RuleSet;
class Matcher;
}  // namespace mimamori::sigma

namespace mimamori::host {

class EventSink;

/// One rendered event-log record.
struct EventLogRecord {
  std::string source;  ///< the channel (live) or the file (replay): the bookmark's key
  uint64_t record_id = 0;
  std::string xml;  ///< the event as EvtRender's XML
};

/// Bookmarks by source: opaque text to keep and hand back to resume.
using EventLogBookmarks = std::map<std::string, std::string, std::less<>>;

/// A subscription to event logs.
class EventLogSource {
 public:
  virtual ~EventLogSource() = default;
  /// Delivers up to `max` records that are ready, waiting at most `wait` for the first one.
  /// Returns how many were delivered; an error says what failed (the source stays usable).
  virtual core::Result<std::size_t> poll(
      const std::function<void(const EventLogRecord&)>& on_record, std::size_t max,
      std::chrono::milliseconds wait) = 0;
  /// The bookmark after the last delivered record of each source that delivered one (or was
  /// resumed from a bookmark).
  virtual EventLogBookmarks bookmarks() const = 0;
  /// True when nothing more will come (a replay that has played every file).
  virtual bool finished() const { return false; }
};

/// EVTX files (or folders of them, searched recursively, in name order) played as a
/// subscription. A file's bookmark is keyed by its path as given (or relative to the folder
/// given); records up to its record id are skipped. An error names a path that cannot be read.
core::Result<std::unique_ptr<EventLogSource>> open_replay_source(
    const std::vector<std::string>& paths, const EventLogBookmarks& bookmarks);

#ifdef _WIN32
/// Subscribes to `channels` with EvtSubscribe (pull mode): from each channel's bookmark when it
/// has one, else only new records. A channel that cannot be subscribed (missing, no access) is
/// an error naming it. `wake`: an event HANDLE that also ends poll()'s wait (the agent's stop).
core::Result<std::unique_ptr<EventLogSource>> open_wevt_source(
    const std::vector<std::string>& channels, const EventLogBookmarks& bookmarks,
    void* wake = nullptr);
#endif

/// A bookmark in Windows' own shape:
/// `<BookmarkList><Bookmark Channel='…' RecordId='N' IsCurrent='true'/></BookmarkList>`.
std::string make_bookmark(std::string_view channel, uint64_t record_id);
/// The RecordId of a bookmark (0: none or not a bookmark).
uint64_t bookmark_record_id(std::string_view bookmark);

/// Flattens one event's XML into `out` (name, value), cleared first, with the EVTX reader's
/// names: System elements by name (attributes as `Element_Attribute`), EventData `Data` by
/// their `Name` (spaces removed), other UserData leaves by element name. Values are trimmed;
/// System times keep microseconds, as the reader renders them. An error says where the XML is
/// malformed.
core::Status event_xml_fields(std::string_view xml,
                              std::vector<std::pair<std::string, std::string>>& out);

/// Bookmarks as one checkpoint text (what the agent commits with the events read up to them),
/// and back; text that is not one gives no bookmarks.
std::string encode_bookmarks(const EventLogBookmarks& marks);
EventLogBookmarks decode_bookmarks(std::string_view text);

/// Counters of an EventLogAlerts.
struct EventLogStats {
  uint64_t records = 0;
  uint64_t alerts = 0;
  uint64_t bad_records = 0;  ///< XML that could not be read (logged, skipped)
  uint64_t gaps = 0;         ///< gaps in a source's record ids reported (report_gaps)
};

/// Something else the agent reads from each event-log record, beside the Sigma rules (brute
/// force over logons, persistence from 7045 and 4698: EventLogWatch). Called on the polling
/// thread with the record's flattened fields.
class EventLogObserver {
 public:
  virtual ~EventLogObserver() = default;
  virtual void on_record(const EventLogRecord& record,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         EventSink& sink) = 0;
};

/// The agent's event-log collector: records from a source, flattened, matched against Sigma
/// rules; each hit an alert (rule title, level, the record's fields under `winlog`) emitted to
/// the sink, and the bookmarks checkpointed (`eventlog`) with the alerts of the records read.
class EventLogAlerts {
 public:
  /// The checkpoint's name in the sink.
  static constexpr std::string_view kCheckpoint = "eventlog";

  EventLogAlerts(EventLogSource& source, const sigma::RuleSet& rules, std::string hostname);
  ~EventLogAlerts();
  /// Reads up to `max` ready records (waiting at most `wait`), emits the alerts and the
  /// checkpoint. Returns the records read.
  core::Result<std::size_t> poll(EventSink& sink, std::size_t max, std::chrono::milliseconds wait);
  const EventLogStats& stats() const { return stats_; }
  /// Also hands every readable record to `observer` (which outlives this).
  void add_observer(EventLogObserver& observer) { observers_.push_back(&observer); }

  /// The signature id of a gap alert.
  static constexpr uint64_t kGapSignatureId = 9119999;
  /// From now on, a record whose id is not the one after its source's last (the log was
  /// cleared, or overwritten past what was read) is preceded by an alert of its own (signature
  /// "Event log gap", `winlog.gap` with the ids around it); `from`: the bookmarks the source
  /// resumed from, so that a gap across a restart is seen too. Off by default: an EVTX export
  /// may hold a selection of a log's records.
  void report_gaps(const EventLogBookmarks& from);

 private:
  void gap_alert(const EventLogRecord& r, uint64_t last, std::string_view channel);

  EventLogSource& source_;
  const sigma::RuleSet& rules_;
  std::unique_ptr<sigma::Matcher> matcher_;
  std::string hostname_;
  EventLogStats stats_;
  std::vector<EventLogObserver*> observers_;
  bool gaps_ = false;
  std::map<std::string, uint64_t, std::less<>> last_id_;  // by source, with report_gaps
  EventSink* sink_ = nullptr;                             // during poll()
};

}  // namespace mimamori::host
