// Argument checks. The TS layer validates too, but a native call with a wrong type must fail with
// a TypeError rather than read garbage (a Number where a Buffer belongs would otherwise hand the
// kernel a bad pointer).
#include <fcntl.h>

#include <cmath>

#include "common.h"

namespace burrow {

namespace {

[[noreturn]] void TypeErr(Napi::Env env, size_t i, const char* what, const char* expected) {
  throw Napi::TypeError::New(env, std::string("argument ") + std::to_string(i) + " (" + what +
                                      ") must be " + expected);
}

bool IsU32(const Napi::Value& v) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return d >= 0 && d <= 4294967295.0 && std::floor(d) == d;
}

}  // namespace

bool IsAbsent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = info[i];
  if (!IsU32(v) || v.As<Napi::Number>().DoubleValue() > 2147483647.0)
    TypeErr(info.Env(), i, what, "a file descriptor (non-negative integer)");
  return v.As<Napi::Number>().Int32Value();
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = info[i];
  if (!IsU32(v)) TypeErr(info.Env(), i, what, "an unsigned 32-bit integer");
  return v.As<Napi::Number>().Uint32Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsString()) TypeErr(info.Env(), i, what, "a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    TypeErr(info.Env(), i, what, "a Buffer or Uint8Array");
  return v.As<Napi::Uint8Array>();
}

Napi::Object ArgOptions(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (IsAbsent(v)) return Napi::Object::New(info.Env());
  if (!v.IsObject() || v.IsArray()) TypeErr(info.Env(), i, "options", "an object");
  return v.As<Napi::Object>();
}

uint32_t OptU32(const Napi::Object& opts, const char* key, uint32_t dflt) {
  Napi::Value v = opts.Get(key);
  if (IsAbsent(v)) return dflt;
  if (!IsU32(v))
    throw Napi::TypeError::New(opts.Env(), std::string("option ") + key + " must be an unsigned 32-bit integer");
  return v.As<Napi::Number>().Uint32Value();
}

bool OptBool(const Napi::Object& opts, const char* key, bool dflt) {
  Napi::Value v = opts.Get(key);
  if (IsAbsent(v)) return dflt;
  if (!v.IsBoolean()) throw Napi::TypeError::New(opts.Env(), std::string("option ") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

bool OptString(const Napi::Object& opts, const char* key, std::string* out) {
  Napi::Value v = opts.Get(key);
  if (IsAbsent(v)) return false;
  if (!v.IsString()) throw Napi::TypeError::New(opts.Env(), std::string("option ") + key + " must be a string");
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool OptBytes(const Napi::Object& opts, const char* key, Napi::Uint8Array* out) {
  Napi::Value v = opts.Get(key);
  if (IsAbsent(v)) return false;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(opts.Env(), std::string("option ") + key + " must be a Buffer or Uint8Array");
  *out = v.As<Napi::Uint8Array>();
  return true;
}

int DupFd(Napi::Env env, int fd) {
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) throw ErrnoError(env, errno, "fcntl(F_DUPFD_CLOEXEC)");
  return dup;
}

}  // namespace burrow
