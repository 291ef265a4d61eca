// The live event-log source on Windows: EvtSubscribe in pull mode (one signal event per
// channel, EvtNext when it is set), EvtRender to XML, a bookmark per channel updated with each
// record delivered. Wine's wevtapi is a stub: this compiles everywhere the agent does and runs
// only on a real Windows (docs/windows.md's checklist); the tests use the replay source.

#include <windows.h>
#include <winevt.h>

#include <string>
#include <vector>

#include "mimamori/host/event_log.h"
#include "win_text.h"

namespace mimamori::host {

using core::make_error;

namespace {

class WevtSource : public EventLogSource {
 public:
  struct Channel {
    std::string name;
    EVT_HANDLE subscription = nullptr;
    EVT_HANDLE bookmark = nullptr;
    HANDLE signal = nullptr;
    std::string mark;  // rendered bookmark after the last delivered record
  };

  ~WevtSource() override {
    for (auto& c : channels_) {
      if (c.subscription) EvtClose(c.subscription);
      if (c.bookmark) EvtClose(c.bookmark);
      if (c.signal) CloseHandle(c.signal);
    }
  }

  core::Status add(const std::string& name, const std::string& bookmark) {
    Channel c;
    c.name = name;
    c.mark = bookmark;
    std::wstring wb = win::widen(bookmark);
    c.bookmark = EvtCreateBookmark(bookmark.empty() ? nullptr : wb.c_str());
    if (!c.bookmark && !bookmark.empty()) {
      // A damaged bookmark: start afresh from new records rather than not at all.
      c.bookmark = EvtCreateBookmark(nullptr);
      c.mark.clear();
    }
    if (!c.bookmark)
      return make_error("event log '{}': EvtCreateBookmark: {}", name,
                        win::error_text(GetLastError()));
    c.signal = CreateEventW(nullptr, TRUE, TRUE, nullptr);
    std::wstring wname = win::widen(name);
    DWORD flags = c.mark.empty() ? EvtSubscribeToFutureEvents : EvtSubscribeStartAfterBookmark;
    c.subscription = EvtSubscribe(nullptr, c.signal, wname.c_str(), L"*",
                                  c.mark.empty() ? nullptr : c.bookmark, nullptr, nullptr, flags);
    if (!c.subscription) {
      DWORD err = GetLastError();
      if (c.bookmark) EvtClose(c.bookmark);
      if (c.signal) CloseHandle(c.signal);
      return make_error("event log '{}': cannot subscribe: {}", name, win::error_text(err));
    }
    channels_.push_back(std::move(c));
    return {};
  }

  core::Result<std::size_t> poll(const std::function<void(const EventLogRecord&)>& on_record,
                                 std::size_t max, std::chrono::milliseconds wait) override {
    std::vector<HANDLE> signals;
    for (auto& c : channels_) signals.push_back(c.signal);
    if (wake_) signals.push_back(wake_);
    if (!signals.empty())
      WaitForMultipleObjects(static_cast<DWORD>(signals.size()), signals.data(), FALSE,
                             static_cast<DWORD>(wait.count()));
    std::size_t n = 0;
    EVT_HANDLE events[64];
    for (auto& c : channels_) {
      while (n < max) {
        DWORD got = 0;
        DWORD want = static_cast<DWORD>(std::min<std::size_t>(64, max - n));
        if (!EvtNext(c.subscription, want, events, 0, 0, &got)) {
          DWORD err = GetLastError();
          ResetEvent(c.signal);
          if (err != ERROR_NO_MORE_ITEMS && err != ERROR_TIMEOUT)
            return make_error("event log '{}': EvtNext: {}", c.name, win::error_text(err));
          break;
        }
        for (DWORD i = 0; i < got; ++i) {
          EventLogRecord r;
          r.source = c.name;
          auto xml = render(events[i], EvtRenderEventXml);
          if (xml) {
            r.xml = std::move(*xml);
            r.record_id = record_id(r.xml);
          }
          if (EvtUpdateBookmark(c.bookmark, events[i])) {
            if (auto m = render(c.bookmark, EvtRenderBookmark)) c.mark = std::move(*m);
          }
          EvtClose(events[i]);
          if (!r.xml.empty()) {
            on_record(r);
            ++n;
          }
        }
      }
    }
    return n;
  }

  EventLogBookmarks bookmarks() const override {
    EventLogBookmarks out;
    for (const auto& c : channels_)
      if (!c.mark.empty()) out[c.name] = c.mark;
    return out;
  }

 private:
  static core::Result<std::string> render(EVT_HANDLE h, EVT_RENDER_FLAGS what) {
    DWORD used = 0, props = 0;
    std::wstring buf(512, L'\0');
    if (!EvtRender(nullptr, h, what, static_cast<DWORD>(buf.size() * sizeof(wchar_t)), buf.data(),
                   &used, &props)) {
      if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
        return make_error("EvtRender: {}", win::error_text(GetLastError()));
      buf.assign(used / sizeof(wchar_t) + 1, L'\0');
      if (!EvtRender(nullptr, h, what, static_cast<DWORD>(buf.size() * sizeof(wchar_t)), buf.data(),
                     &used, &props))
        return make_error("EvtRender: {}", win::error_text(GetLastError()));
    }
    buf.resize(used / sizeof(wchar_t));
    while (!buf.empty() && buf.back() == L'\0') buf.pop_back();
    return win::narrow(buf);
  }

  static uint64_t record_id(std::string_view xml) {
    auto at = xml.find("<EventRecordID>");
    if (at == std::string_view::npos) return 0;
    uint64_t id = 0;
    for (std::size_t i = at + 15; i < xml.size() && xml[i] >= '0' && xml[i] <= '9'; ++i)
      id = id * 10 + static_cast<uint64_t>(xml[i] - '0');
    return id;
  }

  std::vector<Channel> channels_;

 public:
  HANDLE wake_ = nullptr;  // also ends the wait (the agent's stop)
};

}  // namespace

core::Result<std::unique_ptr<EventLogSource>> open_wevt_source(
    const std::vector<std::string>& channels, const EventLogBookmarks& bookmarks, void* wake) {
  auto src = std::make_unique<WevtSource>();
  src->wake_ = static_cast<HANDLE>(wake);
  for (const auto& ch : channels) {
    auto it = bookmarks.find(ch);
    if (auto st = src->add(ch, it == bookmarks.end() ? std::string() : it->second); !st)
      return st.error();
  }
  return std::unique_ptr<EventLogSource>(std::move(src));
}

}  // namespace mimamori::host
