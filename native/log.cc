// libbpf reports through a process-wide print callback (libbpf_set_print). We route it into the
// innermost active LibbpfLogCapture of the calling thread, so a failing call can put what libbpf
// said on its error (error.libbpfLog, error.verifierLog) instead of on stderr.
//
// Why the callback and not bpf_program__set_log_buf: libbpf 1.1 loads first without a log and, on
// failure, retries with log_level 1 into a buffer it grows on ENOSPC, then prints the whole log
// between "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --". A fixed buffer of ours would
// turn a long log into ENOSPC (kernel ≥ 6.4 reports truncation as a load failure) and hide the
// real errno.
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.h"

namespace burrow {

namespace {

thread_local LibbpfLogCapture* current = nullptr;

int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  static const bool debug = std::getenv("BURROW_LIBBPF_DEBUG") != nullptr;
  if (level == LIBBPF_DEBUG && !debug) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::vector<char> buf(static_cast<size_t>(n) + 1);
  vsnprintf(buf.data(), buf.size(), fmt, args);
  if (debug) fputs(buf.data(), stderr);
  if (level != LIBBPF_DEBUG) AppendCaptured(buf.data());
  return 0;
}

}  // namespace

void AppendCaptured(const char* msg) {
  if (current != nullptr) current->text_ += msg;
}

void InstallLibbpfPrint() { libbpf_set_print(Print); }

LibbpfLogCapture::LibbpfLogCapture() : prev_(current) { current = this; }
LibbpfLogCapture::~LibbpfLogCapture() { current = prev_; }

std::string LibbpfLogCapture::VerifierLog(std::string* program) const {
  static const std::string begin = "-- BEGIN PROG LOAD LOG --\n";
  static const std::string end = "-- END PROG LOAD LOG --";
  size_t b = text_.find(begin);
  if (b == std::string::npos) return "";
  size_t e = text_.find(end, b);
  if (e == std::string::npos) e = text_.size();
  // The line carrying the marker reads "libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --".
  size_t line = text_.rfind('\n', b);
  line = line == std::string::npos ? 0 : line + 1;
  size_t q1 = text_.find("prog '", line);
  if (program != nullptr && q1 != std::string::npos && q1 < b) {
    size_t q2 = text_.find('\'', q1 + 6);
    if (q2 != std::string::npos && q2 < b) *program = text_.substr(q1 + 6, q2 - q1 - 6);
  }
  return text_.substr(b + begin.size(), e - b - begin.size());
}

}  // namespace burrow
