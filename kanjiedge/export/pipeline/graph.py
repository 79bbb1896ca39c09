"""Graph export and rewrites: PyTorch model -> simplified fp32 ONNX (the graph every variant starts from), and the
op checks every shipped file passes (the profile's forbid/only lists, custom domains, each runtime's own hook).
"""

from pathlib import Path

import onnx
import torch

from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from kanjiedge.export.pipeline.context import BuildContext


def export_onnx(model, path, size, opset, dynamic_batch=True, dynamo=False):
    """torch -> ONNX with input `image` [batch,1,S,S] and output `logits` [batch,C], weights inside the file."""
    x = torch.zeros(1, 1, size, size)
    axes = {"image": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["logits"],
                          opset_version=opset, dynamo=dynamo, external_data=False, dynamic_axes=axes)
    got = onnx.load(str(path)).opset_import
    version = next(o.version for o in got if o.domain in ("", "ai.onnx"))
    if version != opset:  # the dynamo exporter silently upgrades; never ship a different opset than declared
        raise UserError(f"{path}: exporter wrote opset {version}, profile asks for {opset}")


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxsim constant folding / dead-node removal, checked against the input graph."""
    import onnxsim

    simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise UserError("onnxsim could not validate the simplified graph")
    return simplified


def _static_hw(model, tensor):
    """(H, W) of an NCHW tensor from shape inference, or None if unknown."""
    for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        if vi.name == tensor:
            dims = vi.type.tensor_type.shape.dim
            if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
                return dims[2].dim_value, dims[3].dim_value
    return None


def _global_pool_nodes(node, model):
    """Replacement nodes for a global mean over H,W (GlobalAveragePool or ReduceMean axes (2,3)), or None."""
    if node.op_type == "ReduceMean":
        attrs = {a.name: a for a in node.attribute}
        axes = list(attrs["axes"].ints) if "axes" in attrs else None
        if len(node.input) > 1 or sorted(axes or []) not in ([2, 3], [-2, -1]):
            return None
        keep = attrs["keepdims"].i if "keepdims" in attrs else 1
    else:
        keep = 1
    hw = _static_hw(model, node.input[0])
    if hw is None:
        return None
    pooled = node.output[0] + ("" if keep else "_pooled")
    nodes = [onnx.helper.make_node("AveragePool", [node.input[0]], [pooled], name=node.name + "_avgpool",
                                   kernel_shape=list(hw))]
    if not keep:  # [N,C,1,1] -> [N,C]
        nodes.append(onnx.helper.make_node("Flatten", [pooled], [node.output[0]], name=node.name + "_flat", axis=1))
    return nodes


def rewrite_ops(model: onnx.ModelProto, ops) -> tuple[onnx.ModelProto, int]:
    """Rewrite global means (GlobalAveragePool / ReduceMean over H,W) into a fixed-kernel AveragePool.

    Args:
        model: a shape-inferred graph with static spatial sizes.
        ops: op types to rewrite (subset of "GlobalAveragePool", "ReduceMean").

    Returns:
        (the rewritten model, number of nodes replaced).
    """
    if not ops:
        return model, 0
    model = onnx.shape_inference.infer_shapes(model)
    new_nodes, count = [], 0
    for node in model.graph.node:
        repl = _global_pool_nodes(node, model) if node.op_type in ops else None
        new_nodes.extend(repl or [node])
        count += bool(repl)
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
    return model, count


def export_fp32(ctx: BuildContext) -> Path:
    """Export, simplify and rewrite: the fp32 graph every variant starts from (in ctx.work)."""
    p = ctx.profile
    raw, path = ctx.work / "export.onnx", ctx.work / "fp32.onnx"
    ctx.log(f"export ONNX opset {p.opset} (dynamo={p.dynamo}, batch {'dynamic' if p.dynamic_batch else '1'}, "
            f"input [N,1,{ctx.size},{ctx.size}])")
    export_onnx(ctx.model, raw, ctx.size, p.opset, p.dynamic_batch, p.dynamo)
    ctx.log("onnxsim")
    model = simplify(onnx.load(str(raw)))
    model, n = rewrite_ops(model, p.rewrite)
    if p.rewrite:
        ctx.log(f"rewrote {n} node(s) of {'/'.join(p.rewrite)} into fixed AveragePool")
    onnx.save(model, str(path))
    return path


def _op_allowlist(profile):
    """The op types the profile's `[ops] only` names, from the runtime that declares that list."""
    for rt in profile.runtimes:
        if profile.only in get_runtime(rt).op_lists:
            return get_runtime(rt).op_lists[profile.only]
    raise UserError(f"{profile.path}: [ops] only = {profile.only!r} is not an op list of its runtimes "
                    f"{list(profile.runtimes)}")


def check_ops(ctx: BuildContext, path: Path) -> None:
    """Forbidden ops, the allow-list and custom op domains against the profile and its runtimes' capabilities;
    then each runtime's own `check_graph` hook (what it checked is kept in ctx.static_checks for verify.json)."""
    p = ctx.profile
    model = onnx.load(str(path), load_external_data=False)
    allowed = _op_allowlist(p) if p.only else None
    for node in model.graph.node:
        if node.op_type in p.forbid:
            raise UserError(f"{path}: node {node.name!r} is a {node.op_type}, forbidden by {p.path}")
        if allowed is not None and node.op_type not in allowed:
            raise UserError(f"{path}: node {node.name!r} ({node.op_type}) is not in the {p.only} op list")
        if node.domain not in ("", "ai.onnx"):
            for rt in p.runtimes:
                cap = get_runtime(rt).capability
                if not cap.custom_domains:
                    raise UserError(f"{path}: node {node.name!r} is {node.domain}.{node.op_type}, which {rt} "
                                    f"cannot run ({cap.note})")
    for rt in p.runtimes:
        checked = get_runtime(rt).check_graph(model, path, p)
        if checked is not None:
            ctx.static_checks.setdefault(path.name, {})[rt] = checked
