#!/usr/bin/env python3
"""A minimal CRI client for CRIPodTests: one RuntimeService call per run.

    cri_client.py SOCKET METHOD [REQUEST-JSON]

REQUEST-JSON is the request message in protobuf's JSON mapping (proto
field names or their lowerCamelCase forms); the reply is printed the same
way, with proto field names (fields at their default are left out). The
stubs are compiled from runtime_v1_subset.proto beside this file into
$CRI_CLIENT_GEN, once (without it: into a temporary directory, each run).

Exit status: 0 on success; 3 when the call fails (the gRPC status code and
details on stderr); 2 on bad usage; 4 when grpcio/grpcio-tools are missing.
"""
import atexit
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = "runtime_v1_subset.proto"


def stubs():
    gen = os.environ.get("CRI_CLIENT_GEN")
    if not gen:
        gen = tempfile.mkdtemp(prefix="cri-client-gen-")
        atexit.register(shutil.rmtree, gen, True)
    marker = os.path.join(gen, "runtime_v1_subset_pb2_grpc.py")
    proto = os.path.join(HERE, PROTO)
    if not os.path.exists(marker) or os.path.getmtime(marker) < os.path.getmtime(proto):
        from grpc_tools import protoc
        os.makedirs(gen, exist_ok=True)
        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        status = protoc.main(["protoc", "-I" + HERE, "-I" + include, "--python_out=" + gen,
                              "--grpc_python_out=" + gen, os.path.join(HERE, PROTO)])
        if status != 0:
            sys.exit("cri_client: protoc failed on %s (status %d)" % (proto, status))
    sys.path.insert(0, gen)
    import runtime_v1_subset_pb2 as pb
    import runtime_v1_subset_pb2_grpc as pb_grpc
    return pb, pb_grpc


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    socket, method = argv[1], argv[2]
    request_json = argv[3] if len(argv) == 4 else "{}"
    try:
        import grpc
        from google.protobuf import json_format
        pb, pb_grpc = stubs()
    except ImportError as error:
        print("cri_client: %s (pip install grpcio grpcio-tools)" % error, file=sys.stderr)
        return 4
    service = pb.DESCRIPTOR.services_by_name["RuntimeService"]
    if method not in service.methods_by_name:
        print("cri_client: no method %s in %s" % (method, PROTO), file=sys.stderr)
        return 2
    request_type = getattr(pb, service.methods_by_name[method].input_type.name)
    request = json_format.Parse(request_json, request_type())
    with grpc.insecure_channel("unix://" + socket) as channel:
        stub = pb_grpc.RuntimeServiceStub(channel)
        try:
            reply = getattr(stub, method)(request, timeout=float(os.environ.get("CRI_CLIENT_TIMEOUT", "30")))
        except grpc.RpcError as error:
            print("cri_client: %s: %s: %s" % (method, error.code().name, error.details()), file=sys.stderr)
            return 3
    print(json_format.MessageToJson(reply, preserving_proto_field_name=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
