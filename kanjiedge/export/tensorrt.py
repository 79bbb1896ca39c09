"""TensorRT readiness for the jetson target: static graph checks, the trtexec command file, and a "tensorrt" runtime
that builds and runs a real engine only where the `tensorrt` package and a CUDA GPU exist.

Checks (what TensorRT 8.2 on the original Jetson Nano up to 10.x accepts): every node in the onnx-tensorrt operator
list, opset <= 13, QuantizeLinear/DequantizeLinear with int8 zero-points that are all 0 (signed symmetric),
weight DequantizeLinear per-channel (axis 0, one scale per output channel), no QLinearConv / ConvInteger /
DynamicQuantizeLinear / MatMulInteger, input [batch,1,S,S] with only the batch dimension symbolic.
"""

from pathlib import Path

import numpy as np

from kanjiedge import atomic
from kanjiedge.errors import UserError
from kanjiedge.export.base import Capability, Runtime, Session, register_exporter, register_runtime

# TensorRT 8.2 (original Jetson Nano) parses up to opset 13; explicit int8 needs QDQ with zero-point 0.
CAPABILITY = Capability(precisions=("fp32", "fp16", "int8"), quant_formats=("QDQ",), quant_methods=("static",),
                        max_opset=13, symmetric_int8_only=True,
                        note="TensorRT (JetPack 4.6 / TensorRT 8.2 and later)")
MAX_BATCH = 32  # optimisation-profile maximum batch in the trtexec command
# Operators marked supported ("Y") in onnx-tensorrt docs/operators.md for TensorRT 8.4 (opset 13), the subset also
# supported by every later release. QLinearConv, ConvInteger, DynamicQuantizeLinear, MatMulInteger are "N".
TRT_OPS = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast Ceil Celu Clip Concat
Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DepthToSpace DequantizeLinear Div Dropout Einsum Elu Equal
Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool
Greater GreaterOrEqual GRU HardSigmoid Identity If ImageScaler InstanceNormalization IsNaN LeakyRelu Less LessOrEqual
Log LogSoftmax Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean Min Mul Neg Not Or Pad
ParametricSoftplus Pow PRelu QuantizeLinear RandomUniform RandomUniformLike Range ReduceL1 ReduceL2 ReduceLogSum
ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize
ReverseSequence RNN Round ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Sigmoid Sign Sin Sinh Size
Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile TopK Transpose
Unsqueeze Upsample Where Xor
""".split())
REJECTED = ("QLinearConv", "ConvInteger", "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul")


def _const(model, name):
    """Initializer `name` as a numpy array, or None."""
    from onnx import numpy_helper

    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None


def _check_qdq(model, path, node):
    """Zero-point of a Q/DQ node: int8 and all zeros; weight DequantizeLinear: per-channel on axis 0."""
    zp = _const(model, node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if zp is None or zp.dtype != np.int8:
        raise UserError(f"{path}: {node.op_type} {node.name!r} needs an int8 zero-point (signed symmetric); "
                        f"got {None if zp is None else zp.dtype}")
    if np.any(zp != 0):
        raise UserError(f"{path}: {node.op_type} {node.name!r} has non-zero zero-points; TensorRT needs 0")
    weight = _const(model, node.input[0]) if node.op_type == "DequantizeLinear" else None
    if weight is not None and weight.ndim > 1:  # a weight (biases are 1-D int32 and not TRT-quantized inputs)
        scale = _const(model, node.input[1])
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale is None or scale.size != weight.shape[axis] or axis not in (0, 1):
            raise UserError(f"{path}: weight {node.input[0]!r} is not quantized per output channel")


def _check_input(model, path):
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or any(not d.HasField("dim_value") for d in dims[1:]):
        raise UserError(f"{path}: TensorRT input must be [batch,1,S,S] with static C,H,W")


CHECKS = ("onnx-tensorrt operator list", f"opset <= {CAPABILITY.max_opset}", "int8 zero-points 0",
          "per-channel weight scales", "static C,H,W input")


def check_graph(model, path, profile=None) -> dict:
    """Raise UserError unless `model` (an onnx.ModelProto) is TensorRT-ready (see the module docstring).

    Returns:
        {"checks": what was checked, "ops": sorted op types, "opset": int, "qdq_nodes": int} for verify.json.
    """
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset > CAPABILITY.max_opset:
        raise UserError(f"{path}: opset {opset} > {CAPABILITY.max_opset} (TensorRT 8.2 on JetPack 4.6 cannot "
                        "parse it)")
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type in REJECTED or node.op_type not in TRT_OPS:
            raise UserError(f"{path}: node {node.name!r} ({node.domain or 'ai.onnx'}.{node.op_type}) is not in the "
                            "onnx-tensorrt operator list")
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    for node in qdq:
        _check_qdq(model, path, node)
    _check_input(model, path)
    return {"checks": list(CHECKS), "ops": sorted({n.op_type for n in model.graph.node}), "opset": opset,
            "qdq_nodes": len(qdq)}


def trtexec_command(file_name, precision, size, dynamic_batch) -> str:
    """The trtexec line that builds an engine from `file_name` (run next to the file on the Jetson)."""
    one = f"image:1x1x{size}x{size}"
    shapes = (f"--minShapes={one} --optShapes={one} --maxShapes=image:{MAX_BATCH}x1x{size}x{size}" if dynamic_batch
              else f"--shapes={one}")
    # int8 QDQ graphs carry their own scales (explicit quantization): --int8 enables the int8 kernels, --fp16 lets
    # the layers left in float run in half precision; no calibration cache is needed.
    flags = {"int8": "--int8 --fp16", "fp16": "--fp16", "fp32": "--fp16"}[precision]
    engine = Path(file_name).stem + ".plan"
    return f"trtexec --onnx={file_name} {flags} {shapes} --saveEngine={engine}"


@register_exporter("trtexec")
def export_trtexec(ctx):
    """Check every ONNX variant for TensorRT (unless the runtime's hook already did) and write trtexec.txt with one
    command per variant."""
    import onnx

    lines = ["# Build TensorRT engines on the Jetson (JetPack 4.6+ / TensorRT 8.2+), in this folder:"]
    checks = {}
    for precision, path in ctx.files.items():
        done = ctx.static_checks.get(path.name, {}).get("tensorrt")  # the runtime hook ran them when "tensorrt"
        checks[path.name] = done or check_graph(onnx.load(str(path)), path, ctx.profile)  # verifies the profile
        lines.append(f"# {path.name}: {precision}" + (" QDQ (explicit quantization)" if precision == "int8" else ""))
        lines.append(trtexec_command(path.name, precision, ctx.size, ctx.profile.dynamic_batch))
    out = Path(ctx.out) / "trtexec.txt"
    atomic.write_text(out, "\n".join(lines) + "\n")
    ctx.results["tensorrt-checks"] = checks
    ctx.log(f"TensorRT checks passed for {', '.join(checks)}; commands in {out.name}")
    return [out]


class TrtSession(Session):
    """A TensorRT engine built from an ONNX file (TensorRT >= 10 tensor-address API, torch CUDA buffers)."""

    def __init__(self, model_path):
        import tensorrt as trt

        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(Path(model_path).read_bytes()):
            raise UserError(f"{model_path}: TensorRT parser: {parser.get_error(0)}")
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.FP16)
        if any(network.get_layer(i).type == trt.LayerType.QUANTIZE for i in range(network.num_layers)):
            config.set_flag(trt.BuilderFlag.INT8)
        inp = network.get_input(0)
        profile = builder.create_optimization_profile()
        s = tuple(inp.shape[1:])
        profile.set_shape(inp.name, (1, *s), (1, *s), (MAX_BATCH, *s))
        config.add_optimization_profile(profile)
        engine = trt.Runtime(logger).deserialize_cuda_engine(builder.build_serialized_network(network, config))
        self.context, self.input_name = engine.create_execution_context(), inp.name
        self.output_name = network.get_output(0).name

    def run(self, x):
        import torch

        outs = []
        for i in range(0, len(x), MAX_BATCH):
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + MAX_BATCH])).cuda()
            self.context.set_input_shape(self.input_name, tuple(xb.shape))
            yb = torch.empty(tuple(self.context.get_tensor_shape(self.output_name)), device="cuda")
            self.context.set_tensor_address(self.input_name, xb.data_ptr())
            self.context.set_tensor_address(self.output_name, yb.data_ptr())
            self.context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
            torch.cuda.synchronize()
            outs.append(yb.cpu().numpy())
        return np.concatenate(outs)

    def close(self):
        self.context = None


@register_runtime("tensorrt")
class TensorRTRuntime(Runtime):
    """Real TensorRT, used only where `tensorrt` imports and CUDA is present; otherwise reported as skipped (the
    pipeline then says which static checks ran instead: see `check_graph`)."""

    capability = CAPABILITY
    snippet = '''# on the Jetson: build the engine (exact commands in trtexec.txt), then run it with the TensorRT API
trtexec --loadEngine=model.plan --shapes=image:1x1xSxS'''
    op_lists = {"onnx-tensorrt": TRT_OPS}

    def available(self):
        try:
            import tensorrt
        except ImportError:
            return False, "TensorRT is not installed here (no `tensorrt` package)"
        import torch

        if not torch.cuda.is_available():
            return False, f"tensorrt {tensorrt.__version__} imports but no CUDA GPU is visible"
        return True, f"tensorrt {tensorrt.__version__} on {torch.cuda.get_device_name(0)}"

    def load(self, model_path, threads=None):
        return TrtSession(model_path)

    def check_graph(self, model, path, profile):
        """The static TensorRT checks (every file a TensorRT profile ships must pass them, GPU or not)."""
        return check_graph(model, path, profile)
