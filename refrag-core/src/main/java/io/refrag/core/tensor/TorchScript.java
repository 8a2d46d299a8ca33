package io.refrag.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import io.refrag.core.exception.ModelLoadException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript module the library writes itself, from source, and libtorch compiles when it loads: the way to reach
 * aten operators DJL's API lacks, and to run many operators in one native call. No Python is involved, at build time
 * or at run time.
 *
 * <p>The file is TorchScript's serialized format: a zip of stored entries, {@code version}, {@code constants.pkl} (an
 * empty tuple), {@code data.pkl} (the pickled module object: class {@code __torch__.M}, {@code training = True}, no
 * backward hook) and {@code code/__torch__.py}, the class source. The module holds no state, so one instance serves
 * every thread.
 */
public final class TorchScript {
    private static final byte[] CONSTANTS_PKL = HexFormat.of().parseHex("8002292e");
    private static final byte[] DATA_PKL = HexFormat.of().parseHex("8002635f5f746f7263685f5f0a4d0a710029817d2858"
            + "08000000747261696e696e6771018858160000005f69735f66756c6c5f6261636b776172645f686f6f6b71024e756271032e");

    private final PtNDManager manager; // owns the module; open for the life of the process
    private final PtSymbolBlock module;

    private TorchScript(PtNDManager manager, PtSymbolBlock module) {
        this.manager = manager;
        this.module = module;
    }

    /**
     * Compiles a module on the CPU; it stays loaded for the life of the process.
     *
     * @param what what the module is for, for the error message
     * @param methods the methods of class {@code M}, in TorchScript's serialized syntax, each line indented by two
     *     spaces; {@code forward} is added
     * @return the module
     * @throws ModelLoadException if libtorch cannot compile it
     */
    public static TorchScript compile(String what, String methods) {
        String source = String.join("\n",
                "class M(Module):",
                "  __parameters__ = []",
                "  __buffers__ = []",
                "  training : bool",
                "  _is_full_backward_hook : Optional[bool]",
                "  def forward(self: __torch__.M, x: Tensor) -> Tensor:",
                "    return x",
                methods,
                "");
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        try {
            return new TorchScript(manager, JniUtils.loadModule(manager, new ByteArrayInputStream(zip(source)), false,
                    false));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw new ModelLoadException("cannot compile the TorchScript module for " + what + ": " + e.getMessage(), e);
        }
    }

    /** A module compiled on first use, once per process, then shared by every thread. */
    public static final class Lazy {
        private final String what;
        private final String methods;
        private volatile TorchScript module;

        /**
         * @param what what the module is for, for the error message
         * @param methods its methods, as {@link #compile} takes them
         */
        public Lazy(String what, String methods) {
            this.what = what;
            this.methods = methods;
        }

        /**
         * @return the module, compiled by the first call
         * @throws ModelLoadException if libtorch cannot compile it
         */
        public TorchScript get() {
            TorchScript m = module;
            if (m == null) {
                synchronized (this) {
                    if (module == null) {
                        module = compile(what, methods);
                    }
                    m = module;
                }
            }
            return m;
        }
    }

    /**
     * @param method the method's name
     * @param args its arguments (the caller closes them)
     * @return its result, to be closed by the caller
     */
    public IValue run(String method, IValue... args) {
        return IValueUtils.runMethod(module, method, args);
    }

    /**
     * @param method a method returning one tensor
     * @param owner the manager its result belongs to
     * @param args its arguments (the caller closes them)
     * @return the tensor
     */
    public NDArray runToTensor(String method, NDManager owner, IValue... args) {
        try (IValue out = run(method, args)) {
            return out.toTensor((PtNDManager) owner);
        }
    }

    /**
     * @param array a PyTorch array
     * @return it as an argument (to be closed by the caller; the array stays the caller's)
     */
    public static IValue of(NDArray array) {
        return IValue.from((PtNDArray) array);
    }

    /**
     * @param arrays PyTorch arrays
     * @return them as a {@code List[Tensor]} argument
     */
    public static IValue listOf(NDArray... arrays) {
        PtNDArray[] pt = new PtNDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            pt[i] = (PtNDArray) arrays[i];
        }
        return IValue.listFrom(pt);
    }

    static byte[] zip(String source) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            stored(zip, "m/version", "3".getBytes(StandardCharsets.US_ASCII));
            stored(zip, "m/constants.pkl", CONSTANTS_PKL);
            stored(zip, "m/data.pkl", DATA_PKL);
            stored(zip, "m/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
