// ReadDirectoryChangesW, overlapped and polled (see dir_watch.h).

#include "dir_watch.h"

#include <spdlog/spdlog.h>

#include "win_text.h"

namespace mimamori::host {

core::Result<std::unique_ptr<DirWatch>> DirWatch::open(const std::string& dir, bool recursive) {
  std::unique_ptr<DirWatch> w(new DirWatch());
  w->dir_ = dir;
  while (w->dir_.size() > 3 && (w->dir_.back() == '\\' || w->dir_.back() == '/'))
    w->dir_.pop_back();
  w->recursive_ = recursive;
  w->handle_ =
      CreateFileW(win::widen(w->dir_).c_str(), FILE_LIST_DIRECTORY,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, nullptr);
  if (w->handle_ == INVALID_HANDLE_VALUE)
    return core::make_error("cannot watch folder '{}': {}", dir, win::error_text(GetLastError()));
  w->ov_.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!w->arm())
    return core::make_error("cannot watch folder '{}': ReadDirectoryChangesW: {}", dir,
                            win::error_text(GetLastError()));
  return w;
}

DirWatch::~DirWatch() {
  if (handle_ != INVALID_HANDLE_VALUE) {
    if (armed_) {
      CancelIoEx(handle_, &ov_);
      DWORD n = 0;
      GetOverlappedResult(handle_, &ov_, &n, TRUE);
    }
    CloseHandle(handle_);
  }
  if (ov_.hEvent) CloseHandle(ov_.hEvent);
}

bool DirWatch::arm() {
  ResetEvent(ov_.hEvent);
  armed_ = ReadDirectoryChangesW(handle_, buf_.data(),
                                 static_cast<DWORD>(buf_.size() * sizeof(DWORD)), recursive_,
                                 FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |
                                     FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE,
                                 nullptr, &ov_, nullptr);
  return armed_;
}

void DirWatch::drain(const std::function<void(unsigned long, const std::string&)>& on_change) {
  for (int round = 0; round < 64 && armed_; ++round) {
    DWORD n = 0;
    if (!GetOverlappedResult(handle_, &ov_, &n, FALSE)) {
      DWORD err = GetLastError();
      if (err == ERROR_IO_INCOMPLETE) return;
      spdlog::warn("folder watch '{}': {}", dir_, win::error_text(err));
      if (err == ERROR_NOTIFY_ENUM_DIR) on_change(0, dir_);
      if (!arm()) return;
      continue;
    }
    armed_ = false;
    if (n == 0) {
      on_change(0, dir_);  // overflow: the changes are lost, the caller rescans if it must
    } else {
      const auto* base = reinterpret_cast<const char*>(buf_.data());
      std::size_t off = 0;
      while (off < n) {
        const auto* info = reinterpret_cast<const FILE_NOTIFY_INFORMATION*>(base + off);
        std::wstring_view name(info->FileName, info->FileNameLength / sizeof(wchar_t));
        on_change(info->Action, dir_ + "\\" + win::narrow(name));
        if (!info->NextEntryOffset) break;
        off += info->NextEntryOffset;
      }
    }
    if (!arm()) {
      spdlog::warn("folder watch '{}' stopped: {}", dir_, win::error_text(GetLastError()));
      return;
    }
  }
}

}  // namespace mimamori::host
