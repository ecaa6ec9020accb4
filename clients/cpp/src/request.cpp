// gamegen::Request: building a GenerateRequest, and setting parameters by name through the
// generated messages' descriptors (so a kind or parameter added to the .proto needs no code here).
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "gamegen/client.h"

namespace gamegen {

namespace pb = google::protobuf;

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(Status(StatusCode::kInvalidArgument, message));
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const ParameterInfo* FindParameter(const ModelInfo& model, const std::string& name) {
  for (const auto& p : model.parameters())
    if (p.name() == name) return &p;
  return nullptr;
}

std::string Allowed(const pb::FieldDescriptor* field, const ParameterInfo* info) {
  std::ostringstream out;
  if (info && (info->type() == v1::PARAMETER_TYPE_INT || info->type() == v1::PARAMETER_TYPE_FLOAT)) {
    out << (info->type() == v1::PARAMETER_TYPE_INT ? "an integer" : "a number") << " from " << info->min()
        << " to " << info->max();
    return out.str();
  }
  if (info && info->type() == v1::PARAMETER_TYPE_CHOICE) {
    std::vector<std::string> c(info->choices().begin(), info->choices().end());
    return "one of " + Join(c);
  }
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: return "a non-negative integer";
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64: return "an integer";
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return "a number";
    case pb::FieldDescriptor::CPPTYPE_BOOL: return "true or false";
    default:
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES)
        return "@path/to/file (its bytes are sent)" + (info && !info->accepts().empty() ? ", " + info->accepts() : std::string());
      return "text";
  }
}

bool ParseUnsigned(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

bool ParseSigned(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno || *end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace

Request::Request(std::string model, uint64_t seed) {
  proto_.set_model(std::move(model));
  proto_.set_seed(seed);
}

Request& Request::Seed(uint64_t seed) {
  proto_.set_seed(seed);
  return *this;
}

Request& Request::Format(const std::string& format) {
  proto_.add_formats(format);
  return *this;
}

Request& Request::Formats(const std::vector<std::string>& formats) {
  proto_.clear_formats();
  for (const auto& f : formats) proto_.add_formats(f);
  return *this;
}

Request& Request::Partials(bool on) {
  proto_.set_partials(on);
  return *this;
}

std::string Request::kind() const {
  const std::string& m = proto_.model();
  return m.substr(0, m.find('/'));
}

Request& Request::Set(const std::string& name, const std::string& value, const ModelInfo* model) {
  const pb::Descriptor* desc = v1::GenerateRequest::descriptor();
  const pb::OneofDescriptor* params = desc->FindOneofByName("params");
  const std::string kind = this->kind();
  const pb::FieldDescriptor* kind_field = nullptr;
  std::vector<std::string> kinds;
  for (int i = 0; i < params->field_count(); ++i) {
    kinds.push_back(params->field(i)->name());
    if (params->field(i)->name() == kind) kind_field = params->field(i);
  }
  if (!kind_field) {
    Invalid("model \"" + proto_.model() + "\": kind \"" + kind + "\" has no parameters in this client; kinds: " +
            Join(kinds));
  }
  const ParameterInfo* info = model ? FindParameter(*model, name) : nullptr;
  if (model && !info) {
    std::vector<std::string> names;
    for (const auto& p : model->parameters()) names.push_back(p.name());
    Invalid(name + ": model " + model->kind() + "/" + model->name() + " has no parameter \"" + name +
            "\"; its parameters: " + (names.empty() ? std::string("none") : Join(names)));
  }
  pb::Message* msg = proto_.GetReflection()->MutableMessage(&proto_, kind_field);
  const pb::Descriptor* pdesc = msg->GetDescriptor();
  const pb::FieldDescriptor* field = pdesc->FindFieldByName(name);
  if (!field) {
    std::vector<std::string> names;
    for (int i = 0; i < pdesc->field_count(); ++i) names.push_back(pdesc->field(i)->name());
    Invalid(name + ": " + pdesc->name() + " has no field \"" + name + "\"; fields: " + Join(names));
  }
  const pb::Reflection* r = msg->GetReflection();
  auto bad = [&](const std::string& why = "") {
    Invalid(name + "=\"" + value + "\" " + (why.empty() ? "does not parse" : why) + "; allowed: " +
            Allowed(field, info));
  };
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint64_t v;
      if (!ParseUnsigned(value, std::numeric_limits<uint32_t>::max(), &v)) bad();
      r->SetUInt32(msg, field, static_cast<uint32_t>(v));
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseUnsigned(value, std::numeric_limits<uint64_t>::max(), &v)) bad();
      r->SetUInt64(msg, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int64_t v;
      if (!ParseSigned(value, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), &v)) bad();
      r->SetInt32(msg, field, static_cast<int32_t>(v));
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseSigned(value, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &v)) bad();
      r->SetInt64(msg, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!ParseDouble(value, &v)) bad();
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) r->SetDouble(msg, field, v);
      else r->SetFloat(msg, field, static_cast<float>(v));
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      if (value == "true" || value == "1" || value == "yes") r->SetBool(msg, field, true);
      else if (value == "false" || value == "0" || value == "no") r->SetBool(msg, field, false);
      else bad();
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
        if (value.empty() || value[0] != '@') bad("is not a file reference");
        std::ifstream in(value.substr(1), std::ios::binary);
        if (!in) bad("names a file that cannot be read");
        r->SetString(msg, field, std::string(std::istreambuf_iterator<char>(in), {}));
      } else {
        r->SetString(msg, field, value);
      }
      break;
    }
    default:
      Invalid(name + ": this client cannot set a " + std::string(field->cpp_type_name()) + " field from text");
  }
  return *this;
}

}  // namespace gamegen
