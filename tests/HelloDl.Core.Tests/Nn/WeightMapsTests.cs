using HelloDl.Nn;

namespace HelloDl.Tests.Nn;

public sealed class WeightMapsTests
{
    static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    [Fact]
    public void The_linear_model_gives_one_28x28_map_per_class()
    {
        var model = Model.Create(Architecture.Linear, Digits);
        var maps = WeightMaps.Of(model);
        Assert.Equal(("fc.weight", 10, 28, 28, false), (maps.Parameter, maps.Maps.Count, maps.Rows, maps.Columns, maps.AreFilters));
        Assert.Equal(Digits, maps.Captions);
        var weight = model.Parameters.Single(p => p.Name == "fc.weight").Value;
        Assert.Equal(weight.Data.Slice(7 * 784, 784).ToArray(), maps.Maps[7]);
    }

    [Fact]
    public void Two_classes_give_one_map_that_says_which_way_it_votes()
    {
        var maps = WeightMaps.Of(Model.Create(Architecture.Linear, ["3", "7"]));
        Assert.Single(maps.Maps);
        Assert.Equal(["7 vs 3"], maps.Captions);
    }

    [Fact]
    public void The_cnn_gives_its_32_first_layer_filters_of_the_first_input_channel()
    {
        var model = Model.Create(Architecture.Cnn, Digits);
        var maps = WeightMaps.Of(model);
        Assert.Equal(("c1.weight", 32, 3, 3, true), (maps.Parameter, maps.Maps.Count, maps.Rows, maps.Columns, maps.AreFilters));
        Assert.Equal("31", maps.Captions[31]);
        var weight = model.Parameters.Single(p => p.Name == "c1.weight").Value;
        Assert.Equal(weight.Data.Slice(5 * 9, 9).ToArray(), maps.Maps[5]);
    }

    [Fact]
    public void The_mlp_gives_its_hidden_units_by_index()
    {
        var maps = WeightMaps.Of(Model.Create(Architecture.Mlp, Digits, hiddenSize: 16));
        Assert.Equal(16, maps.Maps.Count);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"{i}"), maps.Captions);
    }
}
