// Describes BTF types for the struct-layout check in src/bpf/btf-check.ts: a struct's size and
// its members' names, byte offsets and sizes; an enum's names and values.
//
// libbpf 1.1 gap: none here, but note btf_member_bit_offset() already handles the kind_flag
// encoding of bitfields; burrow.h has no bitfields, and a bitfield member is reported with
// bitfieldSize so the TS side can refuse it instead of mis-reading its offset.
#include <bpf/btf.h>

#include "common.h"

namespace burrow {

namespace {

const char* KindName(const struct btf_type* t) {
  switch (btf_kind(t)) {
    case BTF_KIND_INT: return "int";
    case BTF_KIND_PTR: return "ptr";
    case BTF_KIND_ARRAY: return "array";
    case BTF_KIND_STRUCT: return "struct";
    case BTF_KIND_UNION: return "union";
    case BTF_KIND_ENUM: return "enum";
    case BTF_KIND_ENUM64: return "enum64";
    case BTF_KIND_FWD: return "fwd";
    case BTF_KIND_TYPEDEF: return "typedef";
    case BTF_KIND_FLOAT: return "float";
    default: return "other";
  }
}

// Skips const/volatile/restrict/type tags, but not typedefs: a key declared as __u32 is
// reported as "__u32", which is what a reader of the C source expects.
const struct btf_type* SkipMods(const struct btf* btf, uint32_t* id) {
  const struct btf_type* t = btf__type_by_id(btf, *id);
  while (t != nullptr && (btf_is_mod(t) || btf_is_type_tag(t))) {
    *id = t->type;
    t = btf__type_by_id(btf, *id);
  }
  return t;
}

}  // namespace

Napi::Value DescribeStruct(Napi::Env env, const struct btf* btf, const std::string& name) {
  if (btf == nullptr) return env.Null();
  int32_t id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return env.Null();
  const struct btf_type* t = btf__type_by_id(btf, id);
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name);
  out.Set("size", Napi::Number::New(env, t->size));
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
    Napi::Object mo = Napi::Object::New(env);
    mo.Set("name", btf__name_by_offset(btf, m->name_off));
    uint32_t bits = btf_member_bit_offset(t, i);
    mo.Set("offset", Napi::Number::New(env, bits / 8));
    long long size = btf__resolve_size(btf, m->type);
    mo.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    uint32_t bf = btf_member_bitfield_size(t, i);
    if (bf != 0 || bits % 8 != 0) mo.Set("bitfieldSize", Napi::Number::New(env, bf));
    uint32_t mid = m->type;
    const struct btf_type* mt = SkipMods(btf, &mid);
    if (mt != nullptr) mo.Set("kind", KindName(mt));
    members.Set(members.Length(), mo);
  }
  out.Set("members", members);
  return out;
}

Napi::Value DescribeEnum(Napi::Env env, const struct btf* btf, const std::string& name) {
  if (btf == nullptr) return env.Null();
  int32_t id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM);
  if (id < 0) return env.Null();
  const struct btf_type* t = btf__type_by_id(btf, id);
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name);
  out.Set("size", Napi::Number::New(env, t->size));
  Napi::Array values = Napi::Array::New(env);
  const struct btf_enum* e = btf_enum(t);
  bool is_signed = btf_kflag(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, e++) {
    Napi::Object vo = Napi::Object::New(env);
    vo.Set("name", btf__name_by_offset(btf, e->name_off));
    double v = is_signed ? static_cast<double>(static_cast<int32_t>(e->val)) : static_cast<double>(e->val);
    vo.Set("value", Napi::Number::New(env, v));
    values.Set(values.Length(), vo);
  }
  out.Set("values", values);
  return out;
}

Napi::Value DescribeTypeId(Napi::Env env, const struct btf* btf, uint32_t id) {
  if (btf == nullptr || id == 0) return env.Null();
  const struct btf_type* t = SkipMods(btf, &id);
  if (t == nullptr) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("kind", KindName(t));
  out.Set("name", btf__name_by_offset(btf, t->name_off));
  long long size = btf__resolve_size(btf, id);
  out.Set("size", Napi::Number::New(env, static_cast<double>(size)));
  return out;
}

}  // namespace burrow
