// Program test runs (BPF_PROG_TEST_RUN) and program info.
//
// The output buffers are allocated here at the size the caller asks for (dataOutSize, ctxOutSize;
// 0 means "no output", which live-frame XDP runs require) and trimmed to what the kernel reports.
// A too-small data buffer fails with ENOSPC: the kernel copies what fits and reports the full
// size, and since the program has already run (and may have changed maps) it is not retried here.
#include <bpf/bpf.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "common.h"

namespace burrow {

namespace {

// progTestRun(fd, {data?, dataOutSize?, ctx?, ctxOutSize?, repeat?, flags?, cpu?, batchSize?})
//   → {retval, duration, data: Buffer | null, ctx: Buffer | null}
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "program fd");
  Napi::Object opts = ArgOptions(info, 1);
  Napi::Uint8Array data, ctx;
  bool has_data = OptBytes(opts, "data", &data);
  bool has_ctx = OptBytes(opts, "ctx", &ctx);
  std::vector<uint8_t> data_out(OptU32(opts, "dataOutSize", 0));
  std::vector<uint8_t> ctx_out(OptU32(opts, "ctxOutSize", 0));

  struct bpf_test_run_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  if (has_data) {
    o.data_in = data.Data();
    o.data_size_in = static_cast<uint32_t>(data.ByteLength());
  }
  if (!data_out.empty()) {
    o.data_out = data_out.data();
    o.data_size_out = static_cast<uint32_t>(data_out.size());
  }
  if (has_ctx) {
    o.ctx_in = ctx.Data();
    o.ctx_size_in = static_cast<uint32_t>(ctx.ByteLength());
  }
  if (!ctx_out.empty()) {
    o.ctx_out = ctx_out.data();
    o.ctx_size_out = static_cast<uint32_t>(ctx_out.size());
  }
  o.repeat = static_cast<int>(OptU32(opts, "repeat", 0));
  o.flags = OptU32(opts, "flags", 0);
  o.cpu = OptU32(opts, "cpu", 0);
  o.batch_size = OptU32(opts, "batchSize", 0);

  int ret = bpf_prog_test_run_opts(fd, &o);
  if (ret < 0) {
    Napi::Error e = ErrnoError(env, ret, "bpf_prog_test_run_opts");
    if (!data_out.empty()) e.Set("dataSizeOut", Napi::Number::New(env, o.data_size_out));
    throw e;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("retval", Napi::Number::New(env, o.retval));
  r.Set("duration", Napi::Number::New(env, o.duration));
  r.Set("data", data_out.empty() ? env.Null()
                                 : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, data_out.data(), o.data_size_out)));
  r.Set("ctx", ctx_out.empty() ? env.Null()
                               : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, ctx_out.data(), o.ctx_size_out)));
  return r;
}

// progInfo(fd) → {type, id, name, tag, mapIds}
Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "program fd");
  struct bpf_prog_info pi;
  memset(&pi, 0, sizeof(pi));
  uint32_t len = sizeof(pi);
  Check(env, bpf_obj_get_info_by_fd(fd, &pi, &len), "bpf_obj_get_info_by_fd");
  // Second pass for the map ids: the kernel only fills arrays it was given room for.
  std::vector<uint32_t> map_ids(pi.nr_map_ids);
  if (!map_ids.empty()) {
    uint32_t n = pi.nr_map_ids;
    memset(&pi, 0, sizeof(pi));
    pi.nr_map_ids = n;
    pi.map_ids = reinterpret_cast<uint64_t>(map_ids.data());
    len = sizeof(pi);
    Check(env, bpf_obj_get_info_by_fd(fd, &pi, &len), "bpf_obj_get_info_by_fd");
    map_ids.resize(std::min<uint32_t>(n, pi.nr_map_ids));
  }
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", Napi::Number::New(env, pi.type));
  o.Set("id", Napi::Number::New(env, pi.id));
  o.Set("name", Napi::String::New(env, pi.name));
  o.Set("tag", Napi::String::New(env, tag));
  Napi::Array ids = Napi::Array::New(env, map_ids.size());
  for (size_t i = 0; i < map_ids.size(); i++) ids.Set(i, Napi::Number::New(env, map_ids[i]));
  o.Set("mapIds", ids);
  return o;
}

}  // namespace

void InitProg(Napi::Env env, Napi::Object exports) {
  exports.Set("progTestRun", Napi::Function::New<ProgTestRun>(env, "progTestRun"));
  exports.Set("progInfo", Napi::Function::New<ProgInfo>(env, "progInfo"));
}

}  // namespace burrow
