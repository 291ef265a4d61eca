#pragma once
// A folder watched with ReadDirectoryChangesW (overlapped, so that polling never blocks).

#include <windows.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::host {

class DirWatch {
 public:
  /// Watches `dir` (and its subfolders when `recursive`) for names, sizes and writes.
  static core::Result<std::unique_ptr<DirWatch>> open(const std::string& dir, bool recursive);
  ~DirWatch();
  /// Calls `on_change(action, path)` for each change that is ready (FILE_ACTION_*, the full
  /// path in UTF-8); action 0 when changes were lost (the buffer overflowed). Never blocks.
  void drain(const std::function<void(unsigned long, const std::string&)>& on_change);
  const std::string& dir() const { return dir_; }

 private:
  DirWatch() = default;
  bool arm();

  std::string dir_;
  bool recursive_ = false;
  HANDLE handle_ = INVALID_HANDLE_VALUE;
  OVERLAPPED ov_{};
  std::vector<DWORD> buf_ = std::vector<DWORD>(16384);  // 64 KiB, DWORD-aligned
  bool armed_ = false;
};

}  // namespace mimamori::host
