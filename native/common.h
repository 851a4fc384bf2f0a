// Shared declarations of the burrow N-API addon. The addon is deliberately thin: it moves bytes
// and fds between JS and libbpf/the bpf syscall, checks argument types (TypeError on misuse), and
// turns every failing call into one error shape (errors.cc). Policy lives in src/bpf/.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

struct btf;  // libbpf's, global on purpose: <bpf/btf.h> is only needed in btf.cc and object.cc

namespace burrow {

// ---- errors.cc: the one place where errno becomes a JS error ---------------------------------
// An Error with .code ('ENOENT', 'ENOTSUPP', ...), .errno (positive) and .syscall (the libbpf or
// libc function that failed). `err` may be given negative (libbpf style) or positive.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& op);
// libbpf 1.x convention: a negative return is -errno. Throws ErrnoError for ret < 0.
int Check(Napi::Env env, int ret, const std::string& op);

// ---- args.cc: argument checks, each throwing TypeError naming the argument -------------------
bool IsAbsent(const Napi::Value& v);  // undefined or null
int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* what);
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Object ArgOptions(const Napi::CallbackInfo& info, size_t i);  // {} when absent
uint32_t OptU32(const Napi::Object& opts, const char* key, uint32_t dflt);
bool OptBool(const Napi::Object& opts, const char* key, bool dflt);
bool OptString(const Napi::Object& opts, const char* key, std::string* out);
bool OptBytes(const Napi::Object& opts, const char* key, Napi::Uint8Array* out);
// A fd duplicated with O_CLOEXEC, so JS owns a descriptor independent of libbpf's.
int DupFd(Napi::Env env, int fd);

// ---- log.cc: libbpf's print callback, captured per call instead of written to stderr ---------
void InstallLibbpfPrint();
void AppendCaptured(const char* msg);  // internal to log.cc
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  const std::string& Text() const { return text_; }
  // The verifier log of the first program that failed to load, or "" when there is none.
  std::string VerifierLog(std::string* program) const;

 private:
  friend void AppendCaptured(const char* msg);
  std::string text_;
  LibbpfLogCapture* prev_;
};

// ---- btf.cc: plain descriptions of BTF types (null when absent) ------------------------------
Napi::Value DescribeStruct(Napi::Env env, const struct btf* btf, const std::string& name);
Napi::Value DescribeEnum(Napi::Env env, const struct btf* btf, const std::string& name);
// {kind, name, size} of a map key/value type after skipping const/volatile; null for id 0.
Napi::Value DescribeTypeId(Napi::Env env, const struct btf* btf, uint32_t id);

// ---- per-file registration -------------------------------------------------------------------
void InitObject(Napi::Env env, Napi::Object exports);
void InitMap(Napi::Env env, Napi::Object exports);
void InitProg(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitLink(Napi::Env env, Napi::Object exports);
void InitXdp(Napi::Env env, Napi::Object exports);
void InitTc(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitEthtool(Napi::Env env, Napi::Object exports);

}  // namespace burrow
