"""What every Kafka interaction stream has (ratings, enrolments, purchase feature records): a landing asset,
and the config its sensor hands to the serving table the batch refreshes."""

import dagster as dg

from assets.keys import stream_key
from assets.learning_events import LandingBatch, OffsetRangeConfig
from pipeline.events.landing import OffsetRange, batch_id, find_gaps, landed_ranges
from pipeline.ml.streams import RAW_ZONE, InteractionStream, land_and_parse
from resources import KafkaResource, LakeResource


class StreamLanding(LandingBatch):
    """A batch of a stream and the UTC day its sensor planned it, which names its raw folder: a retry after
    midnight overwrites the same objects instead of landing the ranges again under a new day."""

    landing_day: str

    @classmethod
    def of(cls, ranges: list[OffsetRange], landing_day: str) -> "StreamLanding":
        return cls(ranges=LandingBatch.of(ranges).ranges, landing_day=landing_day)


class ServingRefresh(dg.Config):
    """Empty `ranges`: rebuild the whole serving table from the newest model. Ranges (set by a stream sensor):
    refresh only what the records in those landed ranges touch, with the serving model."""

    ranges: list[OffsetRangeConfig] = []

    def offset_ranges(self) -> list[OffsetRange]:
        return [OffsetRange(r.topic, r.partition, r.start, r.end) for r in self.ranges]


def build_stream_asset(stream: InteractionStream, group: str) -> dg.AssetsDefinition:
    key, topic = stream_key(stream), stream.topic

    @dg.asset(
        key=key, group_name=group, kinds={"kafka", "parquet"},
        description=(
            f"Kafka topic `{topic}` landed exactly once: raw records in "
            f"`raw/streams/{topic}/date=<landing day>/<range>.parquet`, parsed records in `staged/streams/{topic}/` "
            f"and bad ones, with a reason, in `quarantine/streams/{topic}/`. Set by the `{topic}_sensor`; a re-run "
            f"overwrites the same objects."
        ),
        check_specs=[dg.AssetCheckSpec("batch_reconciles", asset=key,
                                       description="Records landed = parsed + quarantined."),
                     dg.AssetCheckSpec("ranges_contiguous", asset=key,
                                       description="Landed ranges have no gap and no overlap per partition.")],
    )
    def stream_asset(context: dg.AssetExecutionContext, config: StreamLanding, kafka: KafkaResource,
                     lake: LakeResource):
        the_lake, ranges = lake.get_lake(), config.offset_ranges()
        batch = land_and_parse(kafka.client_config(), the_lake, stream, ranges, config.landing_day, context.log.info)
        yield dg.MaterializeResult(metadata={
            "dagster/row_count": batch.parsed, "records": batch.records, "quarantined_by_reason": batch.quarantined,
            "users": len(batch.users), "batch_id": batch_id(ranges), "ranges": [str(r) for r in ranges],
        })
        yield dg.AssetCheckResult(check_name="batch_reconciles", passed=batch.reconciles,
                                  metadata={"records": batch.records, "parsed": batch.parsed,
                                            "quarantined": sum(batch.quarantined.values())})
        gaps = find_gaps(landed_ranges(the_lake, (*RAW_ZONE, topic)))
        yield dg.AssetCheckResult(check_name="ranges_contiguous", passed=not gaps,
                                  metadata={"problems": [str(g) for g in gaps[:50]]})

    return stream_asset
