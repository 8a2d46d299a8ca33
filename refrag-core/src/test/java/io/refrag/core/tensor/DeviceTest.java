package io.refrag.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import org.junit.jupiter.api.Test;

/** A device is parsed once, when it is named: bad names fail there, with what is allowed. */
class DeviceTest {
    @Test
    void namesParseInAnyCaseAndPrintBackAsParsed() {
        assertEquals(Device.AUTO, Device.parse(null));
        assertEquals(Device.AUTO, Device.parse(" Auto "));
        assertEquals(Device.CPU, Device.parse("CPU"));
        assertEquals(Device.MPS, Device.parse("mps"));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(0), Device.parse("gpu"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        assertEquals(Device.cuda(1), Device.parse("gpu:1"));
        for (Device d : new Device[] {Device.AUTO, Device.CPU, Device.MPS, Device.cuda(2)}) {
            assertEquals(d, Device.parse(d.toString()));
        }
        assertEquals("cuda:2", Device.cuda(2).toString());
    }

    @Test
    void badNamesAndIndicesAreRefusedWithWhatIsAllowed() {
        for (String bad : new String[] {"tpu", "cuda:", "cuda:-1", "cuda:x", "cpu:1", "mps:0", "cuda:1:2"}) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> Device.parse(bad), bad);
            assertTrue(e.getMessage().contains("unknown device '" + bad + "'")
                    && e.getMessage().contains(Device.ALLOWED), e.getMessage());
        }
        assertThrows(InvalidRequestException.class, () -> Device.cuda(-1));
        assertThrows(InvalidRequestException.class, () -> new Device(Device.Kind.CPU, 1));
        assertThrows(InvalidRequestException.class, () -> new Device(null, 0));
    }

    @Test
    void theCpuResolvesToDjlsCpu() {
        assertEquals(ai.djl.Device.cpu(), Devices.resolve(Device.CPU));
    }
}
