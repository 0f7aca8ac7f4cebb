# SPDX-License-Identifier: Apache-2.0
"""rosbag2 reading, writing and recovery: the only module that imports ``rosbags`` and ``mcap``.

Bags are rosbag2 version 9 folders (``metadata.yaml`` plus one storage file) in MCAP (default)
or sqlite3 storage, with CDR messages and their message definitions embedded, so ``ros2 bag
play`` and ``ros2 bag info`` work on them. Types come from the ROS 2 Kilted typestore of
``rosbags``; a type it does not know is registered from its ``.msg`` definition.

Flushing and crash recovery
---------------------------
A rosbags writer keeps messages in memory until it closes a storage unit: an MCAP chunk (at
1 MiB) or the sqlite3 transaction (at ``close``), and it writes ``metadata.yaml`` only in
``close``. A writer that is killed (SIGKILL, power loss, OOM killer) therefore leaves a folder
without ``metadata.yaml`` and, for MCAP, a file without its summary and footer.

:meth:`BagWriter.flush` bounds the loss: for MCAP it closes the pending chunk (a complete,
self-contained Chunk record plus its MessageIndex records) and hands the bytes to the operating
system; for sqlite3 it commits the transaction. The recorder node calls it every
``flush_period`` seconds (1 s by default), so a killed recorder loses at most the messages of
the last ``flush_period`` (the OS keeps written bytes when a process dies; ``fsync=True``
also survives a power cut, at the cost of a disk sync per flush). Small chunks cost a few dozen
bytes of index each and are valid MCAP.

:func:`repair_bag` makes such a folder readable again:

- MCAP: the file is read front to back with ``mcap``'s stream reader, which needs no summary;
  every complete chunk is kept (a chunk is only used once it decoded entirely, so a chunk cut
  by the kill is dropped as a whole), and the schemas, channels and messages are written into a
  clean bag (with summary, footer and ``metadata.yaml``) that replaces the truncated file. The
  truncated original is kept beside it as ``<name>.mcap.truncated`` unless asked otherwise.
- sqlite3: the database is opened read-write once, which rolls back the interrupted transaction
  from its journal (the committed messages stay), and ``metadata.yaml`` is regenerated from the
  ``topics`` and ``messages`` tables.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import logging
import os
import pathlib
import shutil
import sqlite3
import struct
import tempfile
from typing import Any, Iterable, Iterator

import numpy as np
import yaml

from robot_learning.atomic_write import atomic_write_text

LOGGER = logging.getLogger(__name__)

STORAGES = ('mcap', 'sqlite3')
"""Storage plugins a bag can use."""
BAG_VERSION = 9
"""rosbag2 metadata version written (Jazzy and later)."""
STORAGE_SUFFIX = {'mcap': '.mcap', 'sqlite3': '.db3'}
TRUNCATED_SUFFIX = '.truncated'
METADATA_FILE = 'metadata.yaml'
_UNKNOWN_HASH = 'RIHS01_' + '0' * 64


class BagError(ValueError):
    """A bag that cannot be read or written; the message names the file."""


# --------------------------------------------------------------------------------------------
# Types and (de)serialization


@functools.lru_cache(maxsize=1)
def typestore():
    """Return the shared ROS 2 Kilted store of message types (``rosbags.typesys``).

    Its ``types`` mapping builds messages for tests and tools, e.g.
    ``types['sensor_msgs/msg/JointState'](header=..., name=[...], ...)``; primitive arrays
    are numpy arrays.
    """
    from rosbags.typesys import get_typestore, Stores
    return get_typestore(Stores.ROS2_KILTED)


def _fresh_store():
    """Return a private Kilted typestore that unknown types may be registered into."""
    from rosbags.typesys import get_typestore, Stores
    return get_typestore(Stores.ROS2_KILTED)


def message_class(msgtype: str):
    """Return the rosbags message class of ``msgtype`` (e.g. 'sensor_msgs/msg/Imu').

    Raises:
        BagError: The typestore does not know the type.
    """
    try:
        return typestore().types[msgtype]
    except KeyError:
        raise BagError(f"unknown message type '{msgtype}' (not in the ROS 2 Kilted "
                       'typestore)') from None


def type_hash(msgtype: str) -> str:
    """Return the ``RIHS01_...`` type description hash of a type the typestore knows.

    Raises:
        BagError: The typestore does not know the type.
    """
    message_class(msgtype)
    return typestore().hash_rihs01(msgtype)


def serialize(message: Any, msgtype: str) -> bytes:
    """Serialize a rosbags message to CDR bytes (what rclpy publishes and bags store)."""
    return bytes(typestore().serialize_cdr(message, msgtype))


def deserialize(data: bytes, msgtype: str) -> Any:
    """Deserialize CDR bytes into a rosbags message of ``msgtype``."""
    return typestore().deserialize_cdr(data, msgtype)


def _store_with(store, msgtype: str, msgdef: str | None, encoding: str = 'ros2msg'):
    """Return ``store`` knowing ``msgtype``: registered from ``msgdef`` when it is new."""
    if msgtype in store.fielddefs:
        return store
    if not msgdef:
        raise BagError(f"unknown message type '{msgtype}' and no message definition given")
    from rosbags.typesys import get_types_from_idl, get_types_from_msg
    try:
        types = (get_types_from_idl(msgdef) if encoding == 'ros2idl'
                 else get_types_from_msg(msgdef, msgtype))
        store.register(types)
    except Exception as error:  # rosbags raises several parser error types
        raise BagError(f"cannot parse the message definition of '{msgtype}': {error}") from error
    return store


# --------------------------------------------------------------------------------------------
# Writing


class BagWriter:
    """Write CDR messages into a new rosbag2 folder; ``flush`` makes them survive a crash.

    Use as a context manager, or call :meth:`open` and :meth:`close`::

        with BagWriter('run1', storage='mcap') as bag:
            bag.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
            bag.write('/joint_states', stamp_ns, cdr_bytes)

    Leaving the ``with`` block on an exception still closes the bag properly (everything
    written so far stays readable), unlike a bare ``rosbags`` writer, which abandons it.
    """

    def __init__(self, path: str | os.PathLike, storage: str = 'mcap') -> None:
        """Prepare a writer for the folder ``path``, which must not exist yet.

        Raises:
            BagError: ``path`` exists, or ``storage`` is not one of ``STORAGES``.
        """
        if storage not in STORAGES:
            raise BagError(f"storage '{storage}' is not one of {', '.join(STORAGES)}")
        self.path = pathlib.Path(path)
        if self.path.exists():
            raise BagError(f'{self.path}: exists already; a bag is always written to a new '
                           'folder')
        self.storage = storage
        self._store = typestore()
        self._writer = None
        self._connections: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._can_flush = True

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._writer is not None

    @property
    def counts(self) -> dict[str, int]:
        """Messages written per topic so far."""
        return dict(self._counts)

    @property
    def storage_file(self) -> pathlib.Path:
        """The storage file inside the bag folder."""
        return self.path / f'{self.path.name}{STORAGE_SUFFIX[self.storage]}'

    def open(self) -> BagWriter:  # noqa: A003
        """Create the bag folder and its storage file."""
        from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
        plugin = StoragePlugin.MCAP if self.storage == 'mcap' else StoragePlugin.SQLITE3
        writer = Writer(self.path, version=BAG_VERSION, storage_plugin=plugin)
        try:
            writer.open()
        except (WriterError, OSError) as error:
            raise BagError(f'{self.path}: cannot create the bag: {error}') from error
        self._writer = writer
        self._can_flush = _supports_flush(writer.storage, self.storage)
        if not self._can_flush:
            LOGGER.warning('this rosbags version lacks the writer internals that flush() uses; '
                           'messages reach the disk only in 1 MiB chunks and at close()')
        return self

    def add_topic(self, topic: str, msgtype: str, msgdef: str | None = None,
                  msgdef_encoding: str = 'ros2msg') -> None:
        """Register ``topic`` with its message type (e.g. 'sensor_msgs/msg/JointState').

        Args:
            topic: Topic name.
            msgtype: Message type name ``pkg/msg/Name``.
            msgdef: Message definition text, needed only for types the Kilted typestore lacks
                (the full ``ros2msg`` text with dependencies after ``MSG:`` separators).
            msgdef_encoding: 'ros2msg' or 'ros2idl'.

        Raises:
            BagError: The type is unknown without ``msgdef``, or the topic already has a type.
        """
        self._require_open()
        if topic in self._connections:
            if self._connections[topic].msgtype != msgtype:
                raise BagError(f'{self.path}: topic {topic} is already recorded as '
                               f'{self._connections[topic].msgtype}, not {msgtype}')
            return
        if msgtype not in self._store.fielddefs:
            if self._store is typestore():
                self._store = _fresh_store()  # never register into the shared store
            _store_with(self._store, msgtype, msgdef, msgdef_encoding)
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._store)
        self._counts[topic] = 0

    def has_topic(self, topic: str) -> bool:
        """Tell whether ``topic`` was registered with :meth:`add_topic`."""
        return topic in self._connections

    def write(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Append one CDR-serialized message with bag (log) time ``timestamp_ns`` [ns]."""
        self._writer.write(self._connection(topic), int(timestamp_ns), data)
        self._counts[topic] += 1

    def write_message(self, topic: str, timestamp_ns: int, message: Any) -> None:
        """Serialize a rosbags message (type of the topic's connection) and append it."""
        msgtype = self._connection(topic).msgtype
        self.write(topic, timestamp_ns, self._store.serialize_cdr(message, msgtype))

    def _connection(self, topic: str) -> Any:
        self._require_open()
        try:
            return self._connections[topic]
        except KeyError:
            raise BagError(f'{self.path}: topic {topic} was not added') from None

    def flush(self, fsync: bool = False) -> None:
        """Put every message written so far into the file, so a killed process keeps it.

        MCAP: closes the pending chunk and flushes the file; sqlite3: commits. With ``fsync``
        the data is also forced onto the disk (survives a power cut).
        """
        self._require_open()
        if not self._can_flush:
            return
        storage = self._writer.storage
        if self.storage == 'mcap':
            # rosbags 0.11 McapWriter: ``chunk`` is the pending chunk, ``close_chunk`` writes it.
            if storage.chunk.msgs:
                storage.close_chunk()
            storage.bio.flush()
            if fsync:
                os.fsync(storage.bio.fileno())
        else:
            storage.conn.commit()

    def close(self) -> None:
        """Finish the storage file and write ``metadata.yaml``; safe to call twice."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _require_open(self) -> None:
        if self._writer is None:
            raise BagError(f'{self.path}: the bag is not open')

    def __enter__(self) -> BagWriter:
        """Open the bag."""
        return self.open()

    def __exit__(self, *exc_info) -> None:
        """Close the bag, also when the block raised (what was written stays readable)."""
        self.close()


def _supports_flush(storage: Any, kind: str) -> bool:
    if kind == 'mcap':
        return all(hasattr(storage, name) for name in ('chunk', 'close_chunk', 'bio'))
    return hasattr(storage, 'conn')


# --------------------------------------------------------------------------------------------
# Reading


@dataclasses.dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag."""

    name: str
    msgtype: str
    """Message type, e.g. 'sensor_msgs/msg/JointState'."""
    message_count: int


@dataclasses.dataclass(frozen=True)
class BagInfo:
    """Summary of a bag (from its metadata and storage index)."""

    path: pathlib.Path
    storage: str
    """'mcap' or 'sqlite3'."""
    message_count: int
    start_ns: int
    """Bag time of the first message [ns]; 0 for an empty bag."""
    end_ns: int
    """Bag time of the last message [ns]; 0 for an empty bag."""
    topics: dict[str, TopicInfo]

    @property
    def duration(self) -> float:
        """Bag time from the first to the last message [s]."""
        return max(0, self.end_ns - self.start_ns) * 1e-9


@dataclasses.dataclass(frozen=True)
class BagMessage:
    """One message read from a bag."""

    topic: str
    msgtype: str
    log_time_ns: int
    """Bag (log) time of the message [ns]: when it was sent or received, per the recorder."""
    message: Any
    """Deserialized rosbags message, or the CDR bytes when read with ``raw=True``."""


@dataclasses.dataclass(frozen=True)
class TopicStamps:
    """Time stamps of one topic's messages in bag order."""

    log_ns: np.ndarray
    """Bag (log) times (N,) [ns], int64."""
    header_ns: np.ndarray | None
    """``header.stamp`` (N,) [ns], int64; None for types without a header."""


def _storage_files(folder: pathlib.Path) -> tuple[str, list[pathlib.Path]]:
    for storage, suffix in STORAGE_SUFFIX.items():
        files = sorted(folder.glob(f'*{suffix}'))
        if files:
            return storage, files
    return '', []


def _describe(path: pathlib.Path) -> str:
    """Name the storage file(s) of a bag folder in error messages, else the path itself."""
    if path.is_dir():
        _, files = _storage_files(path)
        if files:
            return ', '.join(str(file) for file in files)
    return str(path)


@contextlib.contextmanager
def _open_reader(path: str | os.PathLike) -> Iterator[Any]:
    """Open a bag folder (or a bare ``.mcap`` / ``.db3`` file) with ``rosbags``."""
    from rosbags.rosbag2 import Reader
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f'bag not found: {path}')
    if path.is_dir() and not (path / METADATA_FILE).exists():
        _, files = _storage_files(path)
        if files:
            raise BagError(
                f'{_describe(path)}: the bag has no {METADATA_FILE}: its writer did not close it '
                f'(killed?). Recover it with `robot-learning bag repair {path}`.')
        raise BagError(f'{path}: not a rosbag2 folder (no {METADATA_FILE}, no .mcap or .db3 '
                       'file)')
    try:
        reader = Reader(path)
        reader.open()
    except Exception as error:  # rosbags raises ReaderError, struct, YAML and OS errors
        hint = ''
        if 'end magic' in str(error) or 'footer' in str(error).lower():
            hint = f' (truncated? try `robot-learning bag repair {path}`)'
        raise BagError(f'{_describe(path)}: cannot read the bag: {error}{hint}') from error
    try:
        yield reader
    finally:
        reader.close()


def _reader_store(reader) -> Any:
    """Return a typestore that knows every type of the bag (unknown ones from the bag)."""
    store = typestore()
    unknown = {connection.msgtype: connection for connection in reader.connections
               if connection.msgtype not in store.fielddefs}
    if not unknown:
        return store
    store = _fresh_store()
    for msgtype, connection in unknown.items():
        encoding = 'ros2idl' if connection.msgdef.format.name == 'IDL' else 'ros2msg'
        _store_with(store, msgtype, connection.msgdef.data, encoding)
    return store


def bag_info(path: str | os.PathLike) -> BagInfo:
    """Summarize a bag: storage, message counts per topic, first and last bag time.

    Raises:
        FileNotFoundError: No such path.
        BagError: Not a readable bag (the message names the file and suggests a repair when
            the bag looks like its writer was killed).
    """
    path = pathlib.Path(path)
    with _open_reader(path) as reader:
        counts: dict[str, int] = collections.Counter()
        types: dict[str, str] = {}
        for connection in reader.connections:
            counts[connection.topic] += connection.msgcount
            types[connection.topic] = connection.msgtype
        topics = {topic: TopicInfo(topic, types[topic], counts[topic]) for topic in types}
        count = reader.message_count
        start = reader.start_time if count else 0
        end = reader.end_time - 1 if count else 0
    storage = _storage_files(path)[0] if path.is_dir() else (
        'mcap' if path.suffix == '.mcap' else 'sqlite3')
    return BagInfo(path=path, storage=storage, message_count=count, start_ns=start, end_ns=end,
                   topics=topics)


def read_messages(path: str | os.PathLike, topics: Iterable[str] | None = None,
                  raw: bool = False) -> Iterator[BagMessage]:
    """Yield the messages of a bag (all topics, or those in ``topics``) in storage order.

    Args:
        path: Bag folder, or a bare ``.mcap`` / ``.db3`` file.
        topics: Topic names to read; None reads every topic.
        raw: Yield CDR bytes instead of deserialized rosbags messages.

    Raises:
        FileNotFoundError: No such path.
        BagError: The bag cannot be opened, or a message cannot be read or decoded.
    """
    path = pathlib.Path(path)
    wanted = None if topics is None else set(topics)
    with _open_reader(path) as reader:
        connections = [connection for connection in reader.connections
                       if wanted is None or connection.topic in wanted]
        if not connections:
            return
        store = _reader_store(reader)
        try:
            for connection, timestamp, data in reader.messages(connections=connections):
                message = data if raw else store.deserialize_cdr(data, connection.msgtype)
                yield BagMessage(connection.topic, connection.msgtype, timestamp, message)
        except BagError:
            raise
        except Exception as error:  # corrupt chunk, bad CDR, ...
            raise BagError(f'{_describe(path)}: cannot read a message: {error}') from error


def _header_first(store, msgtype: str) -> bool:
    """Tell whether the first field of ``msgtype`` is a ``std_msgs/Header``."""
    fields = store.fielddefs[msgtype][1]
    return bool(fields) and fields[0][0] == 'header' and fields[0][1][1] == 'std_msgs/msg/Header'


def _cdr_header_stamp(data: bytes) -> int:
    """``header.stamp`` [ns] of a CDR message whose first field is a Header."""
    little = data[1] & 1  # Encapsulation kind: 0x0001 CDR_LE, 0x0000 CDR_BE.
    sec, nanosec = struct.unpack('<iI' if little else '>iI', data[4:12])
    return sec * 1_000_000_000 + nanosec


def topic_stamps(path: str | os.PathLike,
                 topics: Iterable[str] | None = None) -> dict[str, TopicStamps]:
    """Return, per topic, the bag times and (for stamped types) the header stamps [ns].

    Header stamps are read straight from the CDR bytes, so this is fast on large bags.
    """
    path = pathlib.Path(path)
    wanted = None if topics is None else set(topics)
    log: dict[str, list[int]] = collections.defaultdict(list)
    header: dict[str, list[int]] = collections.defaultdict(list)
    with _open_reader(path) as reader:
        connections = [connection for connection in reader.connections
                       if wanted is None or connection.topic in wanted]
        if not connections:
            return {}
        store = _reader_store(reader)
        stamped = {connection.topic: _header_first(store, connection.msgtype)
                   for connection in connections}
        try:
            for connection, timestamp, data in reader.messages(connections=connections):
                log[connection.topic].append(timestamp)
                if stamped[connection.topic]:
                    header[connection.topic].append(_cdr_header_stamp(data))
        except Exception as error:
            raise BagError(f'{_describe(path)}: cannot read a message: {error}') from error
    return {
        topic: TopicStamps(
            log_ns=np.asarray(log[topic], dtype=np.int64),
            header_ns=np.asarray(header[topic], dtype=np.int64) if stamped[topic] else None)
        for topic in stamped
    }


# --------------------------------------------------------------------------------------------
# Recovery


@dataclasses.dataclass(frozen=True)
class RepairResult:
    """What :func:`repair_bag` did."""

    path: pathlib.Path
    storage: str
    status: str
    """'intact' (nothing to do) or 'repaired'."""
    message_count: int
    """Messages readable after the repair."""
    topics: dict[str, int]
    """Messages per topic after the repair."""
    end_ns: int
    """Bag time of the last recovered message [ns] (0 if none)."""
    dropped_bytes: int = 0
    """Bytes at the end of an MCAP file that held no complete chunk (lost messages)."""
    original: pathlib.Path | None = None
    """Where the truncated original was kept, if it was."""


def repair_bag(path: str | os.PathLike, keep_original: bool = True) -> RepairResult:
    """Make a bag whose writer was killed readable, up to its last flushed message.

    A bag that already reads cleanly is left alone (status 'intact').

    Args:
        path: Bag folder.
        keep_original: Keep a truncated MCAP file as ``<name>.mcap.truncated`` beside the
            repaired one (sqlite3 bags are repaired in place and need no copy).

    Raises:
        FileNotFoundError: No such folder.
        BagError: No storage file, or nothing recoverable (the message names the file).
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f'bag folder not found: {path}')
    storage, files = _storage_files(path)
    if not files:
        raise BagError(f'{path}: no .mcap or .db3 file to repair')
    if (path / METADATA_FILE).exists():
        try:
            info = bag_info(path)
            # Reading every message proves the storage intact (bag_info reads only indexes).
            for _ in read_messages(path, raw=True):
                pass
        except BagError:
            pass
        else:
            return RepairResult(path, storage, 'intact', info.message_count,
                                {name: topic.message_count for name, topic in info.topics.items()},
                                info.end_ns)
    if storage == 'mcap':
        return _repair_mcap(path, files, keep_original)
    return _repair_sqlite3(path, files)


def _scan_mcap(file: pathlib.Path) -> Iterator[tuple[str, Any]]:
    """Yield ('schema' | 'channel' | 'message', record) from a possibly truncated MCAP file.

    Records of a chunk are yielded only once the whole chunk is decoded; the scan stops at the
    first incomplete or corrupt record. The last item is ('end', (good_bytes, reason)): the
    offset after the last complete record, and why the scan stopped ('' at a proper end).
    """
    from mcap.records import Channel, Chunk, DataEnd, Footer, Message, Schema
    from mcap.stream_reader import breakup_chunk, StreamReader
    size = file.stat().st_size
    good = 0
    with open(file, 'rb') as stream:
        reader = StreamReader(stream, emit_chunks=True, validate_crcs=True,
                              record_size_limit=size)
        try:
            for record in reader.records:
                records = breakup_chunk(record, validate_crc=True) if isinstance(
                    record, Chunk) else [record]
                for item in records:
                    if isinstance(item, Schema):
                        yield 'schema', item
                    elif isinstance(item, Channel):
                        yield 'channel', item
                    elif isinstance(item, Message):
                        yield 'message', item
                good = stream.tell()
                if isinstance(record, (DataEnd, Footer)):
                    break
        except Exception as error:  # EndOfFile, bad magic, CRC, decompression, struct errors
            reason = str(error) or type(error).__name__
            LOGGER.info('%s: readable up to byte %d of %d (%s)', file, good, size, reason)
            yield 'end', (good, reason)
            return
    yield 'end', (good, '')


def _repair_mcap(path: pathlib.Path, files: list[pathlib.Path],
                 keep_original: bool) -> RepairResult:
    from rosbags.rosbag2.metadata import parse_qos
    staging = pathlib.Path(tempfile.mkdtemp(dir=path.parent, prefix=f'.{path.name}.repair-'))
    try:
        writer = BagWriter(staging / path.name, storage='mcap')
        writer.open()
        store = writer._store = _fresh_store()
        dropped = 0
        last = 0
        problems: list[str] = []
        connections: dict[tuple[str, str], Any] = {}
        for file in files:
            schemas: dict[int, Any] = {}
            channels: dict[int, Any] = {}
            for kind, record in _scan_mcap(file):
                if kind == 'schema':
                    schemas[record.id] = record
                elif kind == 'channel':
                    schema = schemas.get(record.schema_id)
                    if schema is None:
                        continue
                    key = (record.topic, schema.name)
                    if key not in connections:
                        connections[key] = _add_recovered_connection(
                            writer, store, record, schema, parse_qos)
                    channels[record.id] = connections[key]
                elif kind == 'message':
                    connection = channels.get(record.channel_id)
                    if connection is not None:
                        writer._writer.write(connection, record.log_time, record.data)
                        writer._counts[connection.topic] += 1
                        last = max(last, record.log_time)
                else:
                    good, reason = record
                    if reason:  # else the data section ended properly (summary follows)
                        dropped += file.stat().st_size - good
                        problems.append(f'{file}: readable up to byte {good} ({reason})')
        counts = writer.counts
        writer.close()
        if not connections:
            raise BagError(f"{'; '.join(problems) or ', '.join(map(str, files))}: no "
                           'complete chunk to recover (not an MCAP file, or the writer was '
                           'killed before its first flush)')
        original = None
        for file in files:
            if keep_original:
                original = file.with_name(file.name + TRUNCATED_SUFFIX)
                file.replace(original)
            else:
                file.unlink()
        (path / METADATA_FILE).unlink(missing_ok=True)
        (staging / path.name / writer.storage_file.name).replace(path / writer.storage_file.name)
        (staging / path.name / METADATA_FILE).replace(path / METADATA_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RepairResult(path, 'mcap', 'repaired', sum(counts.values()), counts, last,
                        dropped, original)


def _add_recovered_connection(writer: BagWriter, store, channel, schema, parse_qos) -> Any:
    msgdef = schema.data.decode('utf-8')
    encoding = schema.encoding or 'ros2msg'
    qos = parse_qos(channel.metadata.get('offered_qos_profiles', ''))
    try:
        _store_with(store, schema.name, msgdef, encoding)
    except BagError as error:
        # Keep the data even when the definition does not parse; ros2 bag play still works.
        LOGGER.warning('%s; keeping the recorded definition without a type hash', error)
        connection = writer._writer.add_connection(
            channel.topic, schema.name, msgdef=msgdef, rihs01=_UNKNOWN_HASH,
            serialization_format=channel.message_encoding, offered_qos_profiles=qos)
    else:
        connection = writer._writer.add_connection(
            channel.topic, schema.name, typestore=store,
            serialization_format=channel.message_encoding, offered_qos_profiles=qos)
    writer._connections[channel.topic] = connection
    writer._counts[channel.topic] = 0
    return connection


def _repair_sqlite3(path: pathlib.Path, files: list[pathlib.Path]) -> RepairResult:
    topics: list[dict] = []
    total = 0
    start = 2**63 - 1
    end = 0
    file_entries = []
    counts: dict[str, int] = collections.Counter()
    for file in files:
        try:
            # A read-write connection rolls an interrupted transaction back from its journal.
            connection = sqlite3.connect(file)
            try:
                rows = connection.execute(
                    'SELECT id, name, type, serialization_format, offered_qos_profiles, '
                    'type_description_hash FROM topics ORDER BY id').fetchall()
                stats = {row[0]: row[1:] for row in connection.execute(
                    'SELECT topic_id, COUNT(*), MIN(timestamp), MAX(timestamp) FROM messages '
                    'GROUP BY topic_id')}
                connection.commit()
            finally:
                connection.close()
        except sqlite3.DatabaseError as error:
            raise BagError(f'{file}: not a readable sqlite3 bag: {error}') from error
        file_count = 0
        file_start = 2**63 - 1
        file_end = 0
        for topic_id, name, msgtype, serialization, qos, digest in rows:
            count, first, last = stats.get(topic_id, (0, None, None))
            counts[name] += count
            if count:
                file_count += count
                file_start = min(file_start, first)
                file_end = max(file_end, last)
            if not any(entry['topic_metadata']['name'] == name for entry in topics):
                topics.append({
                    'topic_metadata': {
                        'name': name, 'type': msgtype, 'serialization_format': serialization,
                        'offered_qos_profiles': yaml.safe_load(qos) if qos else [],
                        'type_description_hash': digest,
                    },
                    'message_count': 0,
                })
        total += file_count
        if file_count:
            start = min(start, file_start)
            end = max(end, file_end)
        file_entries.append({
            'path': file.name,
            'starting_time': {'nanoseconds_since_epoch': file_start if file_count else 0},
            'duration': {'nanoseconds': file_end - file_start if file_count else 0},
            'message_count': file_count,
        })
    for entry in topics:
        entry['message_count'] = counts[entry['topic_metadata']['name']]
    metadata = {'rosbag2_bagfile_information': {
        'version': BAG_VERSION,
        'storage_identifier': 'sqlite3',
        'relative_file_paths': [file.name for file in files],
        'duration': {'nanoseconds': end - start if total else 0},
        'starting_time': {'nanoseconds_since_epoch': start if total else 0},
        'message_count': total,
        'topics_with_message_count': topics,
        'compression_format': '',
        'compression_mode': '',
        'files': file_entries,
        'custom_data': None,
        'ros_distro': 'rosbags',
    }}
    atomic_write_text(path / METADATA_FILE, yaml.safe_dump(metadata, sort_keys=False))
    return RepairResult(path, 'sqlite3', 'repaired', total, dict(counts), end if total else 0)
