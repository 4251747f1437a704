/** ONNX's protobuf messages (onnx-proto): experiments that read or edit a model file reach them here, not directly. */
export { default as onnxProto } from 'onnx-proto';
