"""PySpark RDD word count: reduceByKey on local[2]. argv: output path, input paths."""

import re
import sys
from operator import add

from pyspark.sql import SparkSession

WORD = re.compile(r"[a-z0-9']+")

if __name__ == "__main__":
    spark = SparkSession.builder.master("local[2]").appName("wordcount").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    lines = spark.sparkContext.textFile(",".join(sys.argv[2:]))
    counts = dict(lines.flatMap(lambda line: WORD.findall(line.lower())).map(lambda w: (w, 1)).reduceByKey(add).collect())
    spark.stop()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        out.writelines(f"{k}\t{counts[k]}\n" for k in sorted(counts))
